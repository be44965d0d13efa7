/** The API benchmark's baseline: a bare Fastify 5 route returning a constant. Prints its URL; stops on SIGTERM. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/constant', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`url http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
