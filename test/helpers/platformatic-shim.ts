// @platformatic/kafka uses Promise.withResolvers (Node 22+). On Node 20 this small shim serves the client
// library in the tests; Kastor itself does not need it. Import it before importing '@platformatic/kafka'.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= function () {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
};
