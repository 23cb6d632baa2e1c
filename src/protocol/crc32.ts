// CRC-32 (IEEE 802.3, zlib's), the checksum the legacy message formats v0 and v1 carry over each message from
// its magic byte to its end. Only Produce v0-v2 and Fetch v0-v3 use those formats, so a byte-at-a-time table
// is enough; RecordBatch v2's CRC-32C (crc32c.ts) is the hot one.

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of buf[start, end), as an unsigned 32-bit number. */
export function crc32(buf: Uint8Array, start = 0, end: number = buf.length): number {
  let crc = -1;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
