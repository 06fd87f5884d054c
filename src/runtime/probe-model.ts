/**
 * A 170-byte ONNX graph (y = x · 2I, x: [n,4] float32) used to probe whether an execution
 * provider really works: creating a session on it proves more than a name in a list.
 * Generated with onnx.helper (opset 13); kept inline so the probe works in browsers too.
 */
const PROBE_MODEL_BASE64 =
  'CAcSCm1tcnQtcHJvYmU6kwEKEQoBeAoBdxIBeSIGTWF0TXVsEgVwcm9iZSpLCAQIBBABIkAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAABAQgF3WhQKAXgSDwoNCAESCQoDEgFuCgIIBGIUCgF5Eg8KDQgBEgkKAxIBbgoCCARCBAoAEA0=';

export function probeModelBytes(): Uint8Array {
  const bin = atob(PROBE_MODEL_BASE64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
