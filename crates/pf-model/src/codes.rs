//! Stable diagnostic codes.
//!
//! Every problem the loader or a rule can report has a kebab-case code, a
//! severity, a one-line description and an explanation. `docs/diagnostics.md`
//! and `pf-render explain` are generated from this table; a test keeps the
//! document current, and one in `pf-cli` keeps codes unique across every
//! catalog. Codes are never renamed:
//! CI configurations filter on them.

pub use pf_diag::Severity;

pf_diag::catalog! {
    /// A stable diagnostic code of a topology. See `docs/diagnostics.md`.
    pub enum Code in Topology;

    // ---- Loading: the file itself -------------------------------------
    /// Not valid TOML.
    TomlSyntax = ("toml-syntax", Error, "the file is not valid TOML",
        "The TOML parser stopped at the marked position (a missing quote, bracket or `=`, or a key defined twice). Fix the syntax there; nothing else is checked until the file parses."),
    /// A key the model does not know.
    UnknownKey = ("unknown-key", Error, "a key that the topology model does not have",
        "Every table rejects keys it does not know, so a typo (`replica` for `replicas`) cannot silently fall back to a default. The message lists the keys that are allowed there; `pf-render schema` gives the full model."),
    /// A required key is absent.
    MissingKey = ("missing-key", Error, "a required key is missing",
        "The marked table lacks a key that has no default (an image, a resource limit, a secret name). Add it; the message names it."),
    /// A value of the wrong TOML type.
    WrongType = ("wrong-type", Error, "a value has the wrong TOML type",
        "For example a string where a number is expected (`replicas = \"3\"`) or a table where a list is expected. Write the value in the type the message names."),
    /// A value that does not parse (units, names, enums).
    InvalidValue = ("invalid-value", Error, "a value is malformed: a unit, name, image or choice that does not parse",
        "Durations are `500ms`, `5s`, `1m30s`; sizes are `512M`, `1.5G`; CPUs are `0.5`; CIDRs have no host bits; names are DNS labels; images need a pinned tag other than `latest`; choices are listed in the message."),
    /// A number outside its allowed range.
    OutOfRange = ("out-of-range", Error, "a number is outside its allowed range",
        "Field ranges are part of the JSON Schema too (`pf-render schema`), so an editor with TOML schema support shows them as you type."),
    /// A list or string of the wrong length.
    BadLength = ("bad-length", Error, "a list or string is empty or too long",
        "For example an empty `services` list or `next-upstream` list. The message gives the allowed length."),

    // ---- Names, routes and ports ---------------------------------------
    /// Two app services with one name.
    DuplicateServiceName = ("duplicate-service-name", Error, "two app services have the same name",
        "Service names become Swarm services, Compose services, container names and DNS names; they must be unique. Rename one."),
    /// A name that collides with a generated one.
    ReservedServiceName = ("reserved-service-name", Error, "an app service name collides with a name the generator uses",
        "The generator creates `nginx-lb`, `postgres-N` (with the network aliases `postgres-primary` and `postgres-replica`), `redis-master`, `redis-replica-N`, `redis-sentinel-N`, monitoring services, and Compose instances `<name>N` for every app service. An app service named like one of them would shadow it in DNS. Pick another name."),
    /// Two services routed at one prefix.
    DuplicateRoute = ("duplicate-route", Error, "two app services are routed at the same URL prefix",
        "nginx would only ever use the first `location` with that prefix, so the second service would get no traffic. Give each service its own `route`."),
    /// A route or health path that is not an absolute URL path.
    InvalidPath = ("invalid-path", Error, "a route or health path is not an absolute URL path",
        "Routes and health paths are written into nginx's `location`, the health checks and the scripts, so they must read as one word there. They are absolute URL paths by RFC 3986: `/`, then letters, digits, `-._~!&()*+,=:@/` or `%XX` escapes; a health path may end in `?` and a query of the same characters. `'`, `$` and `;` are left out (a shell quote, Compose interpolation and nginx's directive end), as are spaces, control and non-ASCII characters (escape them as `%XX`)."),
    /// Two listeners on one port.
    PortConflict = ("port-conflict", Error, "two listeners of one container use the same port",
        "The load balancer listens on the HTTP, HTTPS, status and read-endpoint ports; PostgreSQL, Redis and Sentinel ports must differ where they share a host in the `local` target. Change one of the ports."),
    /// A server name that is not a host name.
    InvalidServerName = ("invalid-server-name", Error, "the load balancer's `server-name` is not a host name",
        "It is written into nginx's `server_name` and the TLS set-up; only a DNS host name (`app.example.org`), a leading wildcard (`*.example.org`) or `localhost` is accepted, so the value can never change the meaning of the generated config."),
    /// An environment variable name that is not portable.
    InvalidEnvironmentName = ("invalid-environment-name", Error, "an environment variable name is not a portable shell name",
        "Names must match `[A-Z_][A-Z0-9_]*`, at most 128 characters, so that shells, Compose interpolation, YAML keys and entrypoints read them the same way."),

    // ---- Secrets -------------------------------------------------------
    /// A secret referenced but not declared.
    UndeclaredSecret = ("undeclared-secret", Error, "a secret is referenced but not declared in `[secrets]`",
        "Every secret a service, the load balancer, PostgreSQL or Redis uses must be listed in `[secrets]` with a description, so `create-secrets.sh` and `.env.production.example` know about it. Add `<name> = \"what it holds\"` under `[secrets]`."),
    /// A secret description that is not one line of text.
    InvalidDescription = ("invalid-description", Error, "a secret's description is not one line of text",
        "Descriptions are copied into the bundle's README, `.env.production.example` comments and the help of the setup scripts. They are escaped there, but a line break, a control character (an escape sequence) or a bidirectional override would still make those files read differently from what they do. Write one line of plain text."),
    /// A secret declared but never used.
    UnusedSecret = ("unused-secret", Warning, "a secret is declared but nothing uses it",
        "An unused secret still has to be created before deploying. Remove it, or reference it from the service that needs it."),
    /// A secret-looking plain environment variable.
    SecretInEnvironment = ("secret-in-environment", Error, "a plain environment variable looks like it holds a secret",
        "Variables named like `*PASSWORD*`, `*PASSWD*`, `*SECRET*`, `*TOKEN*`, `*CREDENTIAL*`, or with a word `PASS`, `PWD`, `KEY`, `APIKEY` or `PASSPHRASE` (`DB_PASS`, `API_KEY`) end up in `docker inspect`, logs and the rendered files. Declare the secret in `[secrets]`, list it in the service's `secrets`, and read the `<NAME>_FILE` path it gets. The lint catalog's `env-secret-value` uses the same rule."),
    /// A URL with a password in a plain environment variable.
    PasswordInUrl = ("password-in-url", Error, "a plain environment variable is a URL with a password in it",
        "`postgresql://user:password@db/app` puts the password in the rendered stack file, in `docker inspect` and in logs, and the bundle fails the lint catalog (`credentials-in-url`). Leave the password out of the URL, declare it under `[secrets]` and have the app read the `<NAME>_FILE` it gets (`connects-to` does this for the generated PostgreSQL and Redis)."),
    /// The same secret for two different roles.
    SharedPasswordSecret = ("shared-password-secret", Warning, "two different credentials use the same secret",
        "The PostgreSQL owner and the replication role should have different passwords: the replication role can read every byte of the database, the owner can change it. Use two secrets."),

    // ---- Images ----------------------------------------------------------
    /// A tag that is a moving label rather than a version.
    FloatingImageTag = ("floating-image-tag", Warning, "an image tag is a moving label rather than a version",
        "Tags such as `stable`, `alpine` or `mainline` move: two nodes can pull different versions, and a redeploy can upgrade by surprise. Pin a version (`1.28.0-alpine`) or a digest."),
    /// nginx too old for run-time name resolution.
    NginxTooOld = ("nginx-too-old", Error, "the nginx image is older than 1.27.3, which lacks `server ... resolve`",
        "The generated upstreams use `server tasks.<svc>:<port> resolve` so nginx follows Swarm tasks and starts while a backend is down. Open-source nginx supports `resolve` from 1.27.3 (stable 1.28.0). Use `nginx:1.28.0` or newer."),
    /// Redis too old for Sentinel host names and `redis-cli -e`.
    RedisTooOld = ("redis-too-old", Error, "the Redis image is older than 6.2",
        "Sentinels monitor the master by host name (`resolve-hostnames`, Redis 6.2) and health checks use `redis-cli -e` (6.2), without which `NOAUTH` counts as healthy. Use `redis:7.4` or newer."),
    /// PostgreSQL too old for the generated settings.
    PostgresTooOld = ("postgres-too-old", Error, "the PostgreSQL image is older than 13",
        "The generated configuration uses `max_slot_wal_keep_size` (13+) and `pg_basebackup -R` writing `postgresql.auto.conf` (12+). Use `postgres:16` or newer."),
    /// A version that cannot be read from the tag.
    UnknownImageVersion = ("unknown-image-version", Warning, "the image tag does not start with a version, so version rules cannot be checked",
        "nginx, Redis and PostgreSQL features depend on the version. With a tag like `stable` the generator cannot check them. Use a version tag."),

    // ---- Redis and Sentinel -------------------------------------------
    /// Fewer than three Sentinels.
    SentinelCountTooLow = ("sentinel-count-too-low", Error, "fewer than three Sentinels",
        "With two Sentinels, losing one leaves no majority to authorize a failover; the Redis docs mark it \"don't do this\". Use at least three, on hosts that fail independently."),
    /// An even number of Sentinels.
    SentinelCountEven = ("sentinel-count-even", Warning, "an even number of Sentinels",
        "A failover needs a majority of all Sentinels. Four Sentinels tolerate one failure, like three; the fourth adds cost, not safety. Use an odd count."),
    /// Quorum outside 1..=count.
    SentinelQuorumOutOfRange = ("sentinel-quorum-out-of-range", Error, "the Sentinel quorum is not between 1 and the number of Sentinels",
        "The quorum is how many Sentinels must agree that the master is down. It cannot exceed the number of Sentinels, or the master is never declared down. Set it to the majority, `count / 2 + 1`."),
    /// Quorum differs from the majority.
    SentinelQuorumNotMajority = ("sentinel-quorum-not-majority", Warning, "the Sentinel quorum is not the majority",
        "A lower quorum declares the master down on fewer opinions (more false failovers); a higher one needs more Sentinels alive to fail over. The failover itself always needs a majority. The majority is usual."),
    /// failover-timeout not above down-after.
    SentinelFailoverTimeoutTooShort = ("sentinel-failover-timeout-too-short", Error, "`failover-timeout` is not longer than `down-after`",
        "A failover starts after `down-after` and must finish within `failover-timeout`; a timeout that is not longer aborts failovers that are still in progress. The guide uses 5s and 10s."),
    /// parallel-syncs above the replica count.
    SentinelParallelSyncsExceedReplicas = ("sentinel-parallel-syncs-exceed-replicas", Error, "`parallel-syncs` is larger than the number of Redis replicas",
        "It is the number of replicas resynchronized at once after a failover; more than there are replicas is a mistake in the topology. Use 1 (the guide) up to the replica count."),
    /// Sentinels with nothing to promote.
    RedisNoReplica = ("redis-no-replica", Error, "Sentinels watch a master that has no replica",
        "Sentinel can only fail over to a replica. With `replicas = 0` a master failure is an outage. Add at least one replica."),
    /// min-replicas-to-write above the replica count.
    RedisMinReplicasExceedReplicas = ("redis-min-replicas-exceed-replicas", Error, "`min-replicas-to-write` is larger than the number of replicas",
        "The master would refuse every write. Lower it to at most the replica count."),
    /// min-replicas-to-write equal to the replica count.
    RedisMinReplicasEqualReplicas = ("redis-min-replicas-equal-replicas", Warning, "`min-replicas-to-write` equals the number of replicas",
        "Any replica outage, even a restart for an update, stops all writes. Keep it below the replica count, or accept that trade-off knowingly."),
    /// Malformed master name.
    RedisMasterNameInvalid = ("redis-master-name-invalid", Error, "the Sentinel master name uses characters Sentinel rejects",
        "Sentinel accepts `A-Z a-z 0-9 . - _` in master names. The guide uses `mymaster`."),
    /// Losing one node breaks an HA guarantee.
    NodeLossBreaksHa = ("node-loss-breaks-ha", Warning, "losing one node leaves a group without what it needs to keep serving or to fail over",
        "Computed from the placement the stack file gives Swarm (node labels spread round-robin by `setup-swarm.sh --label-nodes` over `capacity.nodes` nodes, `max_replicas_per_node`, the load balancer's edge nodes) for the loss of each node in turn: a majority of the Sentinels must remain (else no failover is authorized), a PostgreSQL standby must remain to promote when the primary's node is lost (and a Redis replica when the master's is), every app tier must keep a task, and a load balancer must remain that publishes the ports. Where the placement does not pin a member to a node (`placement = \"anywhere\"`, no `max_replicas_per_node`), the worst case Swarm allows is assumed: every unpinned member on the lost node. `pf-render plan FILE --failure-domains` prints the whole table. Fix it with more nodes, the default `placement = \"node-labels\"`, or more instances."),
    /// More Sentinels than hosts.
    SentinelsShareNodes = ("sentinels-share-nodes", Warning, "there are more Sentinels than hosts, so some share a host",
        "Sentinels should fail independently; two on one host fall together and may take the majority with them. On a single Compose host this is unavoidable: the warning says so rather than hiding it."),
    /// `maxmemory` at or above the container's memory limit.
    RedisMaxmemoryOverLimit = ("redis-maxmemory-over-limit", Error, "Redis `maxmemory` is not below the data nodes' memory limit",
        "`maxmemory` bounds the data set only; the replica output buffers, client buffers, fragmentation and the fork of an AOF rewrite or full sync need memory on top of it. At or above the container limit the kernel kills Redis before it refuses a write or evicts a key. Lower `maxmemory` (half the limit leaves room for a fork), or leave it unset to get half the limit."),

    // ---- PostgreSQL -------------------------------------------------------
    /// `primary` names no member.
    PgPrimaryOutOfRange = ("pg-primary-out-of-range", Error, "`postgres.primary` names no member of the cluster",
        "Members are numbered `postgres-1` .. `postgres-<replicas + 1>`; `primary` is the number of the one that runs as the primary. A larger number names nothing, and no member would start as a writer."),
    /// Too few WAL senders.
    PgWalSendersTooLow = ("pg-wal-senders-too-low", Error, "`max-wal-senders` is below replicas + 2",
        "Each streaming replica holds a WAL sender; a `pg_basebackup -X stream` for a new or rebuilt replica needs two more. With fewer, bootstrapping a replica fails with `number of requested standby connections exceeds max_wal_senders`."),
    /// Too few replication slots.
    PgSlotsTooLow = ("pg-slots-too-low", Error, "`max-replication-slots` is below the number of replicas",
        "Every replica streams from its own slot, so the primary keeps the WAL it has not received. Raise it to at least the replica count."),
    /// No bound on WAL kept for slots.
    PgSlotWalUnbounded = ("pg-slot-wal-unbounded", Warning, "replication slots can retain unbounded WAL",
        "Without `max-slot-wal-keep-size`, a replica that is gone for good makes the primary keep WAL until its disk is full. Set a bound below the volume size; a replica past it must be re-cloned."),
    /// Synchronous N above the replica count.
    PgSyncExceedsReplicas = ("pg-sync-exceeds-replicas", Error, "synchronous replication waits for more standbys than exist",
        "Every commit would wait forever. Lower N in `synchronous = \"any N\"` to at most the replica count."),
    /// Synchronous N equal to the replica count.
    PgSyncEqualsReplicas = ("pg-sync-equals-replicas", Warning, "synchronous replication waits for every standby",
        "A single standby outage then blocks every commit on the primary. Use `any N` with N below the replica count, or accept that trade-off knowingly."),
    /// Lag thresholds in the wrong order.
    PgLagThresholdsInverted = ("pg-lag-thresholds-inverted", Error, "a replication lag warning threshold is not below its critical threshold",
        "Alerts escalate from warning to critical; thresholds in the wrong order make the warning never fire. The guide alerts above 5s."),
    /// Read endpoint without replicas.
    PgReadEndpointWithoutReplicas = ("pg-read-endpoint-without-replicas", Error, "a read endpoint is configured but there are no replicas",
        "The read endpoint balances over the replicas; with none it has no servers. Add replicas or remove `read-endpoint`."),
    /// No replica at all.
    PgNoReplica = ("pg-no-replica", Warning, "PostgreSQL has no replica",
        "Without a streaming replica there is nothing to promote when the primary fails, and no place to take backups from. The guide runs one."),
    /// The owner and replication role are one role.
    PgRolesIdentical = ("pg-roles-identical", Error, "the owner and the replication role are the same role",
        "The replication role is created with `REPLICATION` and only that; sharing it with the application widens what a leaked application password can do. Use two roles."),
    /// A short stop grace period.
    PgStopGraceTooShort = ("pg-stop-grace-too-short", Warning, "PostgreSQL gets less than 60s to shut down",
        "Docker kills the container after the grace period; a killed primary recovers from WAL at the next start, which takes longer than a clean shutdown. The official image recommends more than the 10s default."),

    // ---- Load balancer ------------------------------------------------
    /// More tries than servers.
    LbTriesExceedServers = ("lb-tries-exceed-servers", Warning, "`next-upstream-tries` is larger than the servers of an upstream",
        "nginx never tries more servers than an upstream has, so the extra tries do nothing; it usually means the replica count was lowered without revisiting retries."),
    /// Passive health checks off.
    LbPassiveChecksOff = ("lb-passive-checks-off", Warning, "`max-fails = 0` turns passive health checks off",
        "nginx then keeps sending requests to a dead backend (each one retried elsewhere, each one slower). The guide uses 3 failures within 30s."),
    /// ip-hash behind the routing mesh.
    LbIpHashIngress = ("lb-ip-hash-ingress", Error, "`ip-hash` with ports published through the ingress routing mesh",
        "The routing mesh replaces client addresses with mesh addresses, so ip-hash sends every client to the same backend. Publish with `publish-mode = \"host\"`."),
    /// Status endpoint open to everyone.
    LbStatusOpen = ("lb-status-open", Error, "the status endpoint allows every address",
        "`stub_status` reveals traffic figures and is meant for monitoring only. Allow loopback and the overlay subnet, not `0.0.0.0/0` or `::/0`."),
    /// Upstream zone too small.
    LbZoneTooSmall = ("lb-zone-too-small", Error, "the upstream zone is smaller than 64k",
        "Upstreams with `resolve` live in shared memory; nginx refuses zones below eight pages and each resolved server needs room. Use 64k or more."),
    /// Retrying non-idempotent requests.
    LbNonIdempotentRetries = ("lb-non-idempotent-retries", Warning, "`non_idempotent` lets nginx replay POST and PATCH requests",
        "A request that reached a backend before it failed may run twice (two orders, two payments). Remove `non_idempotent` unless every endpoint is idempotent."),
    /// No TLS.
    LbTlsOff = ("lb-tls-off", Warning, "the load balancer serves plain HTTP",
        "The guide encrypts all external traffic. Add `[load-balancer.tls]` with the certificate and key secrets."),
    /// Status allow-list outside the overlay.
    LbStatusAllowOutsideNetwork = ("lb-status-allow-outside-network", Warning, "a status allow-list entry is neither loopback nor inside the overlay subnet",
        "The status port is never published, so only loopback and overlay addresses can reach it; other entries do nothing."),
    /// Monitoring with a load balancer image that may lack njs.
    LbMetricsNeedNjs = ("lb-metrics-need-njs", Error, "monitoring needs the njs module, which the load balancer image may not ship",
        "Prometheus scrapes every load balancer task on its own (one exporter behind the service's virtual IP would mix the tasks' counters). Each task serves its stub_status as Prometheus metrics through a small njs handler; the official nginx image ships njs, `-alpine-slim` and other images may not, and nginx does not start when a module is missing. Use the official image or turn monitoring off."),
    /// Fewer edge nodes than load balancers, or more than there are nodes.
    LbEdgeNodesOutOfRange = ("lb-edge-nodes-out-of-range", Error, "`edge-nodes` is below the load balancer's instances or above `capacity.nodes`",
        "With host-mode ports each node runs at most one nginx, and nginx runs only on the nodes `setup-swarm.sh --label-nodes` labels as edge nodes (the addresses DNS or the external balancer points at). Fewer edge nodes than `instances` leaves tasks that can never be placed; more than `capacity.nodes` cannot be labelled. Use a value from `instances` to `capacity.nodes`."),
    /// start-first where the new task has nowhere to go.
    LbStartFirstWithoutSpareNode = ("lb-start-first-without-spare-node", Error, "`update-order = \"start-first\"` on a host-published load balancer without a spare edge node",
        "A host-mode port is bound by the running task, and `max_replicas_per_node` is 1: a start-first update must place the new task on an edge node that runs no nginx yet. When every edge node already runs one (`edge-nodes` below `instances` + the update parallelism), the new task stays pending and the update never finishes. Use `stop-first`, or raise `edge-nodes`."),
    /// The stack-wide start-first does not apply to the load balancer.
    LbStartFirstOverridden = ("lb-start-first-overridden", Warning, "the load balancer is updated or rolled back stop-first although `rollout` says `start-first`",
        "With host-mode ports, a start-first update of nginx needs an edge node that runs no nginx yet (`edge-nodes` at least `instances` + the update parallelism); otherwise the new task stays pending forever. The generator updates and rolls back the load balancer stop-first instead, `parallelism` tasks at a time, while the others keep serving. Say so explicitly with `load-balancer.update-order = \"stop-first\"` (and `rollout.rollback.order = \"stop-first\"`), or raise `edge-nodes`."),
    /// A connect timeout that makes backend failover slow.
    LbConnectTimeoutSlow = ("lb-connect-timeout-slow", Warning, "`connect-timeout` is 1s or more, so backend failover is not under 1 s",
        "A task that dies on an overlay network sends no reset: nginx's connection attempt to it hangs until `proxy_connect_timeout`, and only then tries the next server. Every request sent to the dead task in that time waits the whole timeout, so the guide's \"<1s\" backend failover needs a connect timeout well below 1s. In-cluster connections are set up in well under a millisecond; the default is 500ms."),

    // ---- Rollout and HA shape ----------------------------------------
    /// A stateless tier with one instance.
    SingleReplicaTier = ("single-replica-tier", Warning, "a stateless tier runs a single instance",
        "One instance is not highly available: an update or a crash is an outage. Run at least two."),
    /// Parallelism above the replica count.
    RolloutParallelismExceedsReplicas = ("rollout-parallelism-exceeds-replicas", Warning, "rollout parallelism is not below a tier's instance count",
        "Updating every instance of a tier at once takes the whole tier down during the update. Use a parallelism below the instance count."),
    /// A restart cap that Swarm enforces for good.
    RestartAttemptsBounded = ("restart-attempts-bounded", Warning, "`restart.max-attempts` caps restarts, and Swarm then never restarts the service again",
        "Once a task has failed `max-attempts` times within `window`, Swarm stops restarting it, even after the cause (a database that was down, a full disk) is gone; only a service update revives it. The guide promises automatic restart. Leave `max-attempts` unset: `delay` still spaces the restarts of a crash loop. The lint catalog's `restart-policy-unbounded` (CIS Docker 5.15) is then waived in the stack file, with this reason."),
    /// The environment convention needs the image's command.
    SecretsAsEnvWithoutCommand = ("secrets-as-env-without-command", Error, "`secrets-as = \"env\"` on a service without `command`",
        "With `secrets-as = \"env\"` (the default: the guide's app reads `SECRET_KEY`, `DATABASE_URL` with the password, ...), the service starts through a generated shim that exports each secret from its file and then runs the service's own program. A container's entrypoint replaces the image's entrypoint and command, which cannot be read at run time, so the topology must name them: set `command` (and `entrypoint` if the image has one) to the image's own, or use `secrets-as = \"file\"` for an app that reads `<NAME>_FILE` itself."),
    /// start-first on a stateful instance.
    StatefulStartFirst = ("stateful-start-first", Error, "`start-first` on a stateful single instance",
        "Starting the new PostgreSQL, Redis or Sentinel task before the old one stops runs two servers on one data volume. Stateful instances must use `stop-first`."),
    /// Grafana without an admin password secret.
    GrafanaWithoutAdminSecret = ("grafana-without-admin-secret", Error, "Grafana is enabled without `grafana-admin-password-secret`",
        "Grafana's default admin password is `admin` (the guide even sets it in the environment). Declare a secret and name it in `monitoring.grafana-admin-password-secret`; Grafana reads it through `GF_SECURITY_ADMIN_PASSWORD__FILE`."),
    /// Grafana without Prometheus.
    GrafanaWithoutPrometheus = ("grafana-without-prometheus", Error, "Grafana is enabled without Prometheus",
        "The generated Grafana reads from the generated Prometheus. Enable `prometheus` too."),

    // ---- Capacity ----------------------------------------------------------
    /// Reservations that cannot be scheduled.
    ReservationsExceedCapacity = ("reservations-exceed-capacity", Error, "the reservations do not fit the hosts",
        "Swarm only starts a task on a node with its reservation free. If the sum does not fit the capacity, or one reservation is larger than a node, some tasks stay pending forever. Add nodes or lower reservations."),
    /// Limits beyond capacity minus headroom.
    LimitsExceedHeadroom = ("limits-exceed-headroom", Warning, "the limits add up to more than the capacity minus the headroom",
        "Under load every instance may use its limit; the guide keeps 20% free for spikes. Above that, instances compete and the host may swap or kill processes."),
    /// A limit below its reservation.
    LimitsBelowReservations = ("limits-below-reservations", Error, "a limit is below its reservation",
        "Docker rejects a memory reservation above the limit, and a CPU reservation above the limit can never be used. Raise the limit or lower the reservation."),

    /// More members of a replication group than nodes.
    StatefulMembersShareNodes = ("stateful-members-share-nodes", Warning, "more PostgreSQL members or Redis data nodes than nodes, so some share a node",
        "With `placement = \"node-labels\"`, `setup-swarm.sh --label-nodes` pins each member to a node round-robin; with more members than `capacity.nodes`, two members of one group (a primary and its only replica, say) land on one node and one node failure takes both. Add nodes or lower the replicas. On a single Compose host this is unavoidable: the warning says so rather than hiding it."),

    // ---- Network -------------------------------------------------------------
    /// Subnet too small for every task.
    SubnetTooSmall = ("subnet-too-small", Error, "the overlay subnet has fewer addresses than the stack needs",
        "Every task and service VIP takes an address, and rolling updates need room for old and new tasks at once. Use a larger subnet (the guide uses a /16)."),
    /// A subnet of every address.
    SubnetOpenToAll = ("subnet-open-to-all", Error, "the overlay subnet is `0.0.0.0/0` or `::/0`",
        "pg_hba.conf and the nginx status allow-list admit the overlay subnet; a subnet of every address admits every client, and the bundle fails the lint catalog (`pg-hba-open-address`). Use the private range the overlay really has, for example `172.26.0.0/16`."),
    /// More instances than the generator renders.
    TooManyInstances = ("too-many-instances", Error, "the stack has more instances than the generator renders",
        "Every instance becomes a Compose service, upstream server and address; at most 50,000 instances (app replicas, load balancers, PostgreSQL, Redis, Sentinels and monitoring together) keep rendering within a few hundred megabytes. A topology of 10,000 services with 1,000 replicas each passed `check`, then `compose` took 6 GB and was killed. Lower the replicas, or split the deployment into several stacks."),
    /// Overlay not encrypted.
    NetworkUnencrypted = ("network-unencrypted", Warning, "the overlay network is not encrypted",
        "Database and cache traffic, including passwords during authentication, crosses hosts in the clear (CIS Docker 7.3). Set `encrypted = true` and allow IP protocol 50 between hosts."),
    /// Stateful services addressed by DNS round robin on Swarm.
    EndpointModeDnsrr = ("endpoint-mode-dnsrr", Warning, "the PostgreSQL, Redis and Sentinel services resolve by DNS round robin on Swarm",
        "With `dnsrr` a stopped task's name stops resolving. Docker's DNS then forwards the lookup to the hosts' resolvers, and Sentinel resolves names inside its event loop: while the lookup waits, Sentinel stalls, enters TILT mode and does not fail over (measured with redis-sentinel 7.0: no failover within 90 s when the resolver does not answer, none within 20 s with 1 s resolver timeouts either, 6.4 s when it answers at once). Failover then takes as long as the hosts' DNS takes to say a name does not exist. `vip` keeps a stopped service's name resolving (its virtual IP) and needs IPVS in the hosts' kernels; keep it unless the hosts lack IPVS, and with `dnsrr` make sure the resolvers answer at once for unknown names. Compose is not affected: Redis and Sentinel get fixed addresses there."),
}

/// The document `docs/diagnostics.md`, generated from this table.
pub fn diagnostics_markdown() -> String {
    let mut out = String::from(
        "# Diagnostics\n\n\
         <!-- Generated from crates/pf-model/src/codes.rs by `pf-render explain --all`; a test keeps it current. -->\n\n\
         Every problem `pf-render check` reports has a stable code. Errors stop rendering; warnings do not\n\
         (unless `--deny-warnings`). `pf-render explain CODE` prints one entry.\n\n\
         | code | severity | what it checks |\n|---|---|---|\n",
    );
    for code in Code::ALL {
        out.push_str(&format!(
            "| [`{0}`](#{0}) | {1} | {2} |\n",
            code.name(),
            code.severity(),
            code.description()
        ));
    }
    for code in Code::ALL {
        out.push_str(&format!(
            "\n### `{}`\n\n**{}**: {}.\n\n{}\n",
            code.name(),
            code.severity(),
            code.description(),
            code.explanation()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_are_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/diagnostics.md");
        let expected = diagnostics_markdown();
        if std::env::var_os("PF_UPDATE_DOCS").is_some() {
            std::fs::write(path, &expected).expect("write docs/diagnostics.md");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == expected,
            "docs/diagnostics.md is stale: run `PF_UPDATE_DOCS=1 cargo test -p pf-model docs_are_current`"
        );
        for code in Code::ALL {
            assert!(committed.contains(&format!("### `{}`", code.name())));
        }
    }
}
