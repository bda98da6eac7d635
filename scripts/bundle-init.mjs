// Part of `npm run build` (after tsc): replaces dist/cli/init-entry.js with one self-contained file holding it
// and every module it imports (commander, the init command, the PKI checks), so mtls-init, which runs at every
// injected pod's start, resolves, reads and compiles one file instead of about forty. Node built-ins stay
// imports; `./commands.js` (every other command, loaded only when runCli is given no command list) stays a
// lazy import beside it in dist/cli/, so nothing of the webhook or the rotator is pulled in.
// Measured with `npm run bench:init` (docs/using-mtls.md, "Start-up time and the init container").
import { rolldown } from 'rolldown';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/init-entry.js', import.meta.url));
const bundle = await rolldown({
  input: entry,
  platform: 'node',
  external: (id) => id === './commands.js' || id.startsWith('node:'),
  logLevel: 'warn',
});
await bundle.write({ file: entry, format: 'esm' });
await bundle.close();
