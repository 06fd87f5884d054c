/** The runtime over a message channel (a worker): protocol, server and client. */
export * from './protocol.js';
export { serveRuntime, toWireError, type RuntimeServerOptions } from './server.js';
export {
  RuntimeClient,
  RemoteModel,
  fromWireError,
  type CallOptions,
  type LoadCallOptions,
  type ImagePreparer,
} from './client.js';
