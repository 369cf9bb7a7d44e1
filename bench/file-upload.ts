/**
 * Upload throughput of POST /files over loopback: `node dist/bench/file-upload.js [MiB] [runs]`
 * (default 100 MiB, 3 runs). Starts the real server (one worker, HTTP on a free port), logs an
 * account in over TCP, then uploads `runs` files of MiB each (different bytes each time, so
 * every run hashes, sniffs, writes, fsyncs and renames a new blob), sent chunked from memory
 * the client made beforehand, and times request start -> 201. Prints each run and the median in
 * MB/s (10^6 bytes a second) and MiB/s, with the worker's peak RSS growth.
 */
import http from 'node:http';
import { startServer } from '../test/helpers/server';
import { login, register, welcomed } from '../test/helpers/requests';
import { workerPids } from '../test/helpers/chaos';
import { rssKb } from '../test/helpers/procfs';

const MIB = Number(process.argv[2] ?? 100);
const RUNS = Number(process.argv[3] ?? 3);
const CHUNK = 256 * 1024;

function post(port: number, token: string, chunks: Buffer[]): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/files?name=bench.bin', headers: { Authorization: `Bearer ${token}` }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', reject);
    let i = 0;
    const pump = (): void => {
      while (i < chunks.length) if (!req.write(chunks[i++]!)) return void req.once('drain', pump);
      req.end();
    };
    pump();
  });
}

async function main(): Promise<void> {
  const bytes = MIB * 1024 * 1024;
  const server = await startServer({ args: ['--http-port', '0', '--workers', '1', '--max-file-bytes', String(bytes), '--file-quota-bytes', String(bytes * (RUNS + 1)), '--log-level', 'info'] });
  try {
    const conn = await welcomed(server.port);
    const user = `bench${Date.now().toString(36).slice(-6)}`;
    await register(conn.c, user);
    const token = await login(conn, user);
    const [worker] = workerPids(server);
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes; at += CHUNK) {
        const c = Buffer.allocUnsafe(Math.min(CHUNK, bytes - at));
        for (let j = 0; j + 4 <= c.length; j += 4) c.writeUInt32LE((run * 7919 + at + j) >>> 0, j);
        chunks.push(c);
      }
      const before = worker ? rssKb(worker) ?? 0 : 0;
      const { status, ms } = await post(server.httpPort!, token, chunks);
      if (status !== 201) throw new Error(`upload answered ${status}`);
      const rate = bytes / 1e6 / (ms / 1000);
      rates.push(rate);
      const grown = worker ? (rssKb(worker) ?? 0) - before : 0;
      console.log(`run ${run + 1}: ${MIB} MiB in ${ms.toFixed(0)} ms = ${rate.toFixed(1)} MB/s (worker RSS ${grown >= 0 ? '+' : ''}${(grown / 1024).toFixed(1)} MiB)`);
    }
    const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
    console.log(`median of ${RUNS}: ${median.toFixed(1)} MB/s (${((median * 1e6) / 1048576).toFixed(1)} MiB/s) for a ${MIB} MiB upload over loopback`);
    await conn.c.close();
  } finally {
    await server.stop();
  }
}

void main().catch((err: Error) => {
  console.error(err);
  process.exitCode = 1;
});
