/**
 * Jest runs the client package from its TypeScript source (no build before
 * `npm test`). Its ESM source imports siblings as `./x.js`, as Node's ESM
 * wants; here that is `./x.ts`. Only for files of packages/client/src.
 */
const { join, sep } = require('path');

const CLIENT_SOURCE = join(__dirname, '..', '..', 'packages', 'client', 'src') + sep;

module.exports = (request, options) => {
  if ((options.basedir + sep).startsWith(CLIENT_SOURCE) && /^\.\.?\/.*\.js$/.test(request)) {
    return options.defaultResolver(request.replace(/\.js$/, '.ts'), options);
  }
  return options.defaultResolver(request, options);
};
