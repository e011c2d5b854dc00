// Reading a file lvsd is pointed at (a token file, the state file) without trusting what it is: only a
// regular file, and only up to a size, so /dev/zero, a FIFO or a runaway file cannot hang lvsd or fill
// its memory. Errors are Errors with the reason, for the caller's message.
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';

export class BoundedReadError extends Error {
  override readonly name = 'BoundedReadError';
  constructor(message: string, readonly code?: string) { super(message); }
}

export async function readBoundedFile(path: string, maxBytes: number): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO with no writer would otherwise block until one appears.
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new BoundedReadError(`${path} is not a regular file`, 'EINVAL');
    if (st.size > maxBytes) throw new BoundedReadError(`${path} is ${st.size} bytes, more than the ${maxBytes} allowed`, 'EFBIG');
    // The size may change after stat: read at most one byte more than allowed to tell.
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw new BoundedReadError(`${path} grew past the ${maxBytes} bytes allowed`, 'EFBIG');
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
