// `npm start`: a real Node-RED 4 with this package installed from its packed tarball, on a
// simulated bus of four JK-PB packs, with the demo flow deployed.
//
//   npm start                      packs at DIP addresses 1-4, no JK master (the bus node polls them)
//   npm start -- --master          the same plus a simulated JK master (the bus node sniffs it)
//   npm start -- --port 1881       editor port (default 1880, or $PORT)
//
// Steps: build into a temp dir (never ./dist), pack (scripts/pack.mjs), install the tarball into
// the git-ignored user dir .demo/, and start Node-RED (loopback only, no telemetry or tours) with
// the example "05 Demo (simulator)" deployed: its bus node's "simulator" connection runs the
// simulated packs inside Node-RED, exactly as after a palette install. Ctrl-C stops it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  console.log('Usage: npm start [-- --master] [-- --port N]\n  --master  add a simulated JK master (DIP address 0)\n  --port N  editor port (default 1880, or $PORT)');
  process.exit(0);
}
const master = args.includes('--master');
const portArg = args.indexOf('--port');
const port = Number(portArg !== -1 ? args[portArg + 1] : process.env.PORT || 1880);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`demo: --port must be 1-65535, got ${portArg !== -1 ? args[portArg + 1] : process.env.PORT}`);
  process.exit(2);
}

const userDir = join(root, '.demo');
const build = mkdtempSync(join(tmpdir(), 'jkbms-demo-'));
const children = [];
let stopping = false;

function step(text) {
  console.log(`demo: ${text}`);
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  step('stopping');
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const timer = setTimeout(() => c.kill('SIGKILL'), 8000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          c.kill('SIGINT'); // by PID: Node-RED renames its process to "node-red"
        }),
    ),
  );
  rmSync(build, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  step('building (into a temp dir)');
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--out', build], { stdio: 'inherit', cwd: root });
  step('packing');
  const tgz = execFileSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--dist', join(build, 'dist'), '--out', build], {
    cwd: root,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop();

  step(`installing ${tgz.split('/').pop()} into .demo/`);
  mkdirSync(userDir, { recursive: true });
  if (!existsSync(join(userDir, 'package.json'))) {
    writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'jkbms-demo', private: true, version: '0.0.0' }, null, 2));
  }
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tgz], { cwd: userDir, stdio: 'inherit' });

  const example = JSON.parse(readFileSync(join(root, 'examples', '05 Demo (simulator).json'), 'utf8'));
  const tab = { id: 'demo0000000000aa', type: 'tab', label: 'JK BMS demo', disabled: false, info: '' };
  const flow = [
    tab,
    ...example.map((n) => {
      if (n.type === 'jkbms-bus') return { ...n, transport: 'simulator', simMaster: master };
      return { ...n, z: tab.id };
    }),
  ];
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow, null, 2));
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: 'flows.json',
    credentialSecret: 'jkbms-demo',
    editorTheme: { tours: false, projects: { enabled: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { palette: { allowInstall: false } },
  };
  writeFileSync(join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);

  step('starting Node-RED');
  const redJs = join(root, 'node_modules', 'node-red', 'red.js');
  const red = spawn(process.execPath, [redJs, '-u', userDir, '-s', join(userDir, 'settings.js')], {
    cwd: userDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(red);
  red.stdout.pipe(process.stdout);
  await new Promise((resolve, reject) => {
    let seen = '';
    red.stdout.on('data', (b) => {
      seen = (seen + b.toString()).slice(-4000);
      if (/Server now running at/.test(seen)) resolve();
    });
    red.once('exit', (code) => reject(new Error(`Node-RED exited (${code}); is port ${port} free? Try: npm start -- --port 1881`)));
  });
  console.log(`\n  Node-RED editor: http://127.0.0.1:${port}/   (simulated packs 1-4${master ? ' + JK master' : ''} inside Node-RED)\n  Ctrl-C stops Node-RED.\n`);
  red.once('exit', () => void stop(1));
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
}
