/**
 * Test harness: a real 3-server NATS cluster with JetStream on free loopback ports. The code
 * lives in bench/lib/nats-cluster.ts, shared with `npm run bench -- cluster`.
 */
export * from '../../bench/lib/nats-cluster';
