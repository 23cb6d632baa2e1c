// @platformatic/kafka 2.x declares Node >= 22.22 in its engines (1.35.0 is the last release that declares Node
// 20). The only Node 22 API its dist/ uses (2.12.1) is Promise.withResolvers, in apis/callbacks.js and
// protocol/compression.js, so on Node 20 this small shim serves the client library in the tests; Kastor itself
// does not need it. zstd compression stays unavailable on Node 20 (the client checks for zlib.zstdCompressSync
// and throws UnsupportedCompressionError). Import it before importing '@platformatic/kafka'.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= function () {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
};
