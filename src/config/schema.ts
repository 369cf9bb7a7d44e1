import os from 'node:os';
import { Type, type Static } from '@sinclair/typebox';

/**
 * The `store` setting's PostgreSQL form: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
 * (`postgresql://` too; libpq-style query parameters such as `?sslmode=require`).
 */
export const POSTGRES_URL_PATTERN = '^postgres(ql)?://\\S+$';

/**
 * Every setting of `switchboard serve`. Each is a `--kebab-case` flag, a camelCase key of the
 * JSON config file, and a SWITCHBOARD_UPPER_SNAKE environment variable. `reload: 'live'`: a
 * reload (SIGHUP, `switchboard reload`) applies a new value to the running server and its
 * sessions at once; a setting without it needs a restart (src/config/reload.ts).
 */
// Optional settings list Null first: with type coercion on (flags and environment are strings),
// a null tried against an integer or string branch first would become 0 or "".
export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', description: 'address of the TCP listener' }),
    port: Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 65535 })], {
      default: 4444,
      description: 'plain TCP port (0 = any free port; null = no plain TCP, e.g. TLS only)',
    }),
    tlsPort: Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 65535 })], { default: null, description: 'TLS port, same protocol (needs --tls-cert and --tls-key)' }),
    tlsCert: Type.Union([Type.Null(), Type.String({ minLength: 1 })], { default: null, reload: 'live', description: 'PEM certificate chain for the TLS port (reloaded on SIGHUP)' }),
    tlsKey: Type.Union([Type.Null(), Type.String({ minLength: 1 })], { default: null, reload: 'live', description: 'PEM private key for the TLS port (reloaded on SIGHUP)' }),
    tlsHandshakeTimeoutMs: Type.Integer({ minimum: 100, default: 10000, reload: 'live', description: 'a TLS client must finish its handshake within this, or is closed' }),
    unixSocket: Type.Union([Type.Null(), Type.String({ minLength: 1 })], { default: null, description: 'path of an extra Unix-socket listener' }),
    dataDir: Type.String({ minLength: 1, default: './data', description: 'where everything the server writes goes' }),
    store: Type.Union([Type.Literal('sqlite'), Type.String({ pattern: POSTGRES_URL_PATTERN })], {
      default: 'sqlite',
      description: 'where accounts and history are kept: sqlite (a file in the data dir) or a postgres://USER@HOST:PORT/DB URL (a database several nodes can share)',
    }),
    workers: Type.Integer({ minimum: 1, maximum: 256, default: Math.max(1, os.availableParallelism()), description: 'worker processes (pool placement)' }),
    placement: Type.Union([Type.Literal('pool'), Type.Literal('dedicated')], { default: 'pool', description: 'pool: N shared workers; dedicated: one worker process per client' }),
    maxClients: Type.Integer({ minimum: 1, default: 10000, reload: 'live', description: 'connected clients at most, those waiting for a worker included; more get TOO_MANY_USERS' }),
    workerWaitMs: Type.Integer({
      minimum: 100,
      default: 10000,
      reload: 'live',
      description: 'a client that has waited this long for a ready worker, while none became ready (all starting, being replaced or crashing at start), is closed (TOO_MANY_USERS)',
    }),
    spares: Type.Integer({ minimum: 0, maximum: 64, default: 2, description: 'dedicated placement: idle pre-spawned workers kept ready' }),
    maxSpares: Type.Integer({
      minimum: 0,
      maximum: 256,
      default: 16,
      description: 'dedicated placement: the spares grow with the connect rate (spares + clients placed in the last second) up to this many; never fewer than --spares',
    }),
    maxProcesses: Type.Integer({ minimum: 1, default: 256, description: 'dedicated placement: worker processes at most (spares included)' }),
    maxLineBytes: Type.Integer({ minimum: 64, maximum: 1024 * 1024, default: 65536, reload: 'live', description: 'longest accepted client line; longer closes the connection' }),
    maxOutboundBytes: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024, reload: 'live', description: 'per-client output queue bound; over it the client is disconnected' }),
    rateLimit: Type.Number({ exclusiveMinimum: 0, default: 20, reload: 'live', description: 'messages per second per connection, sustained (token bucket)' }),
    rateBurst: Type.Integer({ minimum: 1, default: 40, reload: 'live', description: 'messages a connection may send at once above the sustained rate' }),
    maxBytesPerSecond: Type.Integer({ minimum: 1024, default: 256 * 1024, reload: 'live', description: 'inbound bytes per second per connection, sustained (burst: twice that)' }),
    accountRateLimit: Type.Number({ exclusiveMinimum: 0, default: 40, reload: 'live', description: 'messages per second per account, across all its connections' }),
    maxJsonDepth: Type.Integer({ minimum: 1, maximum: 64, default: 8, reload: 'live', description: 'deepest nesting of arrays/objects accepted in a client line' }),
    maxContentLength: Type.Integer({ minimum: 1, default: 16384, reload: 'live', description: 'longest message or DM content, in characters' }),
    maxRoomsPerOwner: Type.Integer({ minimum: 1, default: 20, description: 'rooms one client or account may own at once' }),
    maxInboxMessages: Type.Integer({ minimum: 1, default: 1000, reload: 'live', description: 'DMs one account\'s offline inbox holds at most; a DM beyond gets INBOX_FULL' }),
    maxInboxBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024, reload: 'live', description: 'UTF-8 bytes of DM content one account\'s offline inbox holds at most; a DM beyond gets INBOX_FULL' }),
    inboxWindow: Type.Integer({ minimum: 1, default: 100, reload: 'live', description: 'offline DMs sent to a client and not yet acknowledged, at most: acks pace the rest' }),
    maxQueuedRequests: Type.Integer({ minimum: 1, default: 256, reload: 'live', description: 'requests of one client waiting behind its earlier one, at most; more get BUSY' }),
    reconnectGraceMs: Type.Integer({ minimum: 0, default: 60000, description: 'a dropped client that asked for a resume token keeps its identity and room held this long (ms); 0 = not held' }),
    maxHeldNames: Type.Integer({ minimum: 0, default: 10000, description: 'identities held for dropped clients at once; when full the oldest hold lapses' }),
    maxConnectionsPerAddress: Type.Integer({ minimum: 1, default: 64, reload: 'live', description: 'connections from one remote address at once' }),
    lineTimeoutMs: Type.Integer({ minimum: 0, default: 30000, reload: 'live', description: 'a started line must end within this (slowloris); 0 = no limit' }),
    firstMessageTimeoutMs: Type.Integer({ minimum: 0, default: 0, reload: 'live', description: 'a client must send a valid message within this of connecting; 0 = no limit' }),
    idleTimeoutMs: Type.Integer({ minimum: 0, default: 0, reload: 'live', description: 'close a client silent for this long (clients keep alive with {"type":"ping"}); 0 = never' }),
    admins: Type.Array(Type.String(), { default: [], reload: 'live', description: 'usernames of server administrators (also: switchboard admin grant)' }),
    hubRecoveryTimeoutMs: Type.Integer({
      minimum: 100,
      default: 3000,
      description: 'a restarted hub waits this long at most for the workers that were alive to re-register before it serves',
    }),
    cluster: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
      default: null,
      description: 'NATS servers of the cluster log, comma-separated (nats://H1:P1,nats://H2:P2,...); null = one node, no cluster (docs/CLUSTER.md)',
    }),
    nodeId: Type.Union([Type.Null(), Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })], {
      default: null,
      description: 'this node\'s name in the cluster, unique among the nodes; null = the host name and 6 random hex digits, new at each start',
    }),
    clusterConnectTimeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'a cluster node that cannot reach NATS (and its JetStream) within this refuses to start' }),
    clusterProposeTimeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'a request not committed to the cluster log within this (retries included) is refused with CLUSTER_UNAVAILABLE' }),
    clusterHeartbeatMs: Type.Integer({ minimum: 100, default: 1000, description: 'how often a cluster node refreshes its heartbeat key and checks the others\'' }),
    clusterNodeTimeoutMs: Type.Integer({ minimum: 1000, default: 5000, description: 'a cluster node whose heartbeat key is this old is gone: its clients leave (the key\'s max age)' }),
    clusterLogMaxMessages: Type.Integer({ minimum: 100, default: 10_000_000, description: 'entries the cluster log keeps at most (a starting node restores a snapshot and replays the rest); at least 2 x clusterSnapshotEvery' }),
    clusterHistoryBacklogBytes: Type.Integer({
      minimum: 65536,
      default: 64 * 1024 * 1024,
      description: 'room messages a cluster node keeps for a retry while PostgreSQL cannot take them (bytes of content); when full, new room messages are refused with STORE_UNREACHABLE',
    }),
    clusterLogMaxAgeMs: Type.Integer({ minimum: 60_000, default: 7 * 24 * 3600 * 1000, description: 'age after which cluster log entries are discarded; at least 2 x clusterSnapshotIntervalMs' }),
    clusterSnapshotEvery: Type.Integer({ minimum: 10, default: 10_000, description: 'a cluster node snapshots the chat state at every log seq that is a multiple of this (docs/CLUSTER.md, "Snapshots")' }),
    clusterSnapshotIntervalMs: Type.Integer({ minimum: 1000, default: 3_600_000, description: 'and after this long when entries were applied since its last snapshot (so a slow log is covered before its entries age out)' }),
    clusterSnapshotKeep: Type.Integer({ minimum: 2, default: 3, description: 'cluster snapshots kept; older ones are removed' }),
    shutdownTimeoutMs: Type.Integer({ minimum: 100, default: 8000, description: 'graceful stop deadline before children are killed' }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', reload: 'live', description: 'pino log level' },
    ),
    maxFileBytes: Type.Integer({ minimum: 1, default: 25 * 1024 * 1024, description: 'largest file one upload (POST /files) may be, in bytes; larger gets 413 FILE_TOO_LARGE as soon as it passes' }),
    fileQuotaBytes: Type.Integer({ minimum: 1, default: 100 * 1024 * 1024, description: 'bytes of uploads one account may keep stored; more gets 413 QUOTA_EXCEEDED' }),
    fileUploadGraceMs: Type.Integer({
      minimum: 1000,
      default: 24 * 3600 * 1000,
      description: 'an upload its account has not attached to a live message is forgotten this long after it was made (ms); a file no message and no upload keeps is deleted',
    }),
    fileSweepIntervalMs: Type.Integer({ minimum: 100, default: 60_000, description: 'how often the hub forgets lapsed uploads and deletes files nothing keeps (ms)' }),
    httpPort: Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 65535 })], {
      default: 8080,
      description: 'HTTP port of the web app and its WebSocket (/ws) (0 = any free port; null or off = no HTTP)',
    }),
    httpsPort: Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 65535 })], {
      default: null,
      description: 'HTTPS port of the web app and its WebSocket (needs --tls-cert and --tls-key); null or off = no HTTPS',
    }),
    httpOrigins: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'origins a browser may open /ws from (scheme://host[:port], comma-separated; * = any); empty = only the origin the page came from (Origin host = the request\'s Host)',
    }),
    // Their own settings, not --rate-limit's: a page load or a history of image thumbnails
    // is a burst of requests no chat client sends as messages. Per connection, like the
    // protocol's; --max-connections-per-address bounds the connections, so one address has at
    // most that many times this rate.
    httpRateLimit: Type.Number({
      exclusiveMinimum: 0,
      default: 20,
      reload: 'live',
      description: 'HTTP requests per second per connection, sustained (token bucket); more get 429 RATE_LIMITED with Retry-After, and a connection far over it (burst x 4 refusals in 10 s) is closed',
    }),
    httpRateBurst: Type.Integer({ minimum: 1, default: 60, reload: 'live', description: 'HTTP requests a connection may send at once above the sustained rate' }),
    webRoot: Type.Union([Type.Null(), Type.String({ minLength: 1 })], {
      default: null,
      description: 'directory of the built web app served at / (null = dist/web of the installed package)',
    }),
    maxDevices: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'connections logged in to one account at once; one more closes the oldest (SESSION_REPLACED)' }),
    maxContacts: Type.Integer({ minimum: 1, maximum: 100_000, default: 500, description: 'accounts one contact list holds at most; more get TOO_MANY_CONTACTS' }),
    searchRateLimit: Type.Number({ exclusiveMinimum: 0, default: 2, description: 'user searches per second per account (burst: 5 x that); more get RATE_LIMITED' }),
    metricsPort: Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 65535 })], {
      default: null,
      description: 'HTTP port of GET /metrics (Prometheus), /healthz and /readyz (0 = any free port; null = off); docs/OPERATIONS.md',
    }),
    metricsHost: Type.String({ minLength: 1, default: '127.0.0.1', description: 'address the metrics and health HTTP server listens on' }),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>>;

export type ConfigKey = keyof Static<typeof ConfigSchema>;
