// Copies the SignalR browser bundles from node_modules into lib/, where the server serves them without npm at run time.
// `--check` compares instead of copying and exits 1 when a vendored file differs from the installed package.
import { copyFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const vendored = [
  ['@microsoft/signalr/dist/browser/signalr.min.js', 'signalr.min.js'],
  ['@microsoft/signalr-protocol-msgpack/dist/browser/signalr-protocol-msgpack.min.js', 'signalr-protocol-msgpack.min.js'],
];

const check = process.argv.includes('--check');
let failed = false;
mkdirSync(join(root, 'lib'), { recursive: true });
for (const [from, to] of vendored) {
  const source = join(root, 'node_modules', from);
  const target = join(root, 'lib', to);
  if (!existsSync(source)) {
    console.error(`missing ${source}: run npm ci first`);
    process.exit(2);
  }
  if (check) {
    const same = existsSync(target) && readFileSync(source).equals(readFileSync(target));
    console.log(`${same ? 'ok' : 'DIFFERS'}  lib/${to}`);
    failed ||= !same;
  } else {
    copyFileSync(source, target);
    console.log(`copied ${from} -> lib/${to}`);
  }
}
process.exit(failed ? 1 : 0);
