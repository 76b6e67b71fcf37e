// Runs before any TypeScript is loaded: the entry points need Node.js >= 24.7
// (type stripping, ML-DSA and ML-KEM in node:crypto, node:sqlite). Plain
// JavaScript on purpose, so that an older Node reaches this message.

const MIN = [24, 7, 0];

export function requireNode(tool) {
  const found = process.versions.node.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if (found[i] > MIN[i]) return;
    if (found[i] < MIN[i]) {
      process.stderr.write(
        `${tool}: needs Node.js >= ${MIN.join('.')} (this is ${process.version}).\n` +
          `Start it through its launcher (bin/${tool}) or npm (npm start), which use the Node 24 pinned in node_modules by npm ci,\n` +
          `or put Node.js 24 first on PATH (export PATH="$PWD/node_modules/.bin:$PATH").\n`,
      );
      process.exit(2);
    }
  }
}
