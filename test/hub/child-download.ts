/**
 * Run in a child process by the cross-process lock test: download one file and print where
 * it landed. Args: endpoint, cacheDir, repo, path.
 */
import { HubClient } from '../../src/node/hub/index.js';

const [endpoint, cacheDir, repo, path] = process.argv.slice(2) as [string, string, string, string];
const client = new HubClient({ endpoint, cacheDir, env: {}, lockPollMs: 20 });
process.stdout.write(await client.downloadFile(repo, 'main', path));
