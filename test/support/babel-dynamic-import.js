/* global module */
/**
 * Babel plugin for Jest only: makes @babel/plugin-transform-modules-commonjs turn `import()` into
 * `require()` (the flag is what @babel/plugin-transform-dynamic-import sets). Jest's CommonJS
 * runtime cannot run a real `import()` without --experimental-vm-modules, and NestJS loads its
 * HTTP adapter (`NestFactory.create`) and class-validator (ValidationPipe) that way.
 */
module.exports = function dynamicImportToRequire() {
  return {
    name: 'dynamic-import-to-require',
    pre() {
      this.file.set('@babel/plugin-proposal-dynamic-import', '7.0.0');
    },
  };
};
