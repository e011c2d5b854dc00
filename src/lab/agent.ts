// The agent inside a UML lab kernel: started by the lab's init script, it reads requests from a
// console channel (a tty in raw mode, wired to pipes of the test process) and runs them with the
// same ProcessTable the host backend uses. When the channel closes, the test process is gone: the
// agent kills what it started and exits, and init powers the kernel off.
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReadStream, WriteStream } from 'node:tty';
import { ProcessTable } from './runner.js';
import { encode, LineDecoder, SPOOL_THRESHOLD, type Reply, type Request } from './protocol.js';
import { uptime } from 'node:os';
import { StringDecoder } from 'node:string_decoder';

function main(ttyPath: string, spool: string | undefined): void {
  const fd = openSync(ttyPath, 'r+');
  const input = new ReadStream(fd);
  input.setRawMode(true);
  const output = new WriteStream(fd);
  const table = new ProcessTable();
  const send = (msg: Reply): void => { output.write(encode(msg)); };
  const decoder = new LineDecoder();
  let closing = false;

  const finish = (code: number): void => {
    if (closing) return;
    closing = true;
    table.killAll('SIGKILL');
    // Give the kernel a moment to deliver the last reply before init powers off.
    setTimeout(() => process.exit(code), 50);
  };

  const handle = async (req: Request): Promise<void> => {
    try {
      switch (req.op) {
        case 'exec': {
          const { id: _id, op: _op, ...rest } = req;
          const result = await table.exec(rest);
          if (spool && result.stdout.length > SPOOL_THRESHOLD) {
            const file = join(spool, `stdout-${process.pid}-${req.id}`);
            writeFileSync(file, result.stdout);
            result.stdout = '';
            result.stdoutFile = file;
          }
          send({ ev: 'reply', id: req.id, ok: true, result });
          return;
        }
        case 'spawn': {
          const { id: _id, op: _op, ...rest } = req;
          send({ ev: 'reply', id: req.id, ok: true, result: table.spawn(rest, send) });
          return;
        }
        case 'write':
          send({ ev: 'reply', id: req.id, ok: true, result: table.write(req.handle, req.data === null ? null : Buffer.from(req.data, 'base64')) });
          return;
        case 'kill':
          send({ ev: 'reply', id: req.id, ok: true, result: table.kill(req.handle, req.signal) });
          return;
        case 'ping':
          send({ ev: 'reply', id: req.id, ok: true, result: { uptime: uptime(), procs: table.size } });
          return;
        case 'shutdown':
          send({ ev: 'reply', id: req.id, ok: true, result: null });
          finish(0);
          return;
        default:
          send({ ev: 'reply', id: (req as { id: number }).id, ok: false, error: `unknown op ${(req as { op: string }).op}` });
      }
    } catch (e) {
      send({ ev: 'reply', id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  };

  // Bytes, not characters: the host counts what it wrote in bytes. A multi-byte character split
  // across reads is reassembled by the decoder.
  const utf8 = new StringDecoder('utf8');
  let received = 0;
  input.on('data', (chunk: Buffer) => {
    received += chunk.length;
    send({ ev: 'rx', bytes: received });
    for (const msg of decoder.push(utf8.write(chunk))) {
      if (msg && typeof msg === 'object' && typeof (msg as Request).id === 'number' && typeof (msg as Request).op === 'string') {
        void handle(msg as Request);
      }
    }
  });
  input.on('end', () => finish(0));
  input.on('error', () => finish(1));
  process.on('SIGTERM', () => finish(0));
  send({ ev: 'ready', uptime: uptime(), node: process.version });
}

main(process.argv[2] ?? '/dev/tty1', process.argv[3]);
