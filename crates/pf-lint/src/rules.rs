//! The catalog: every rule with a stable kebab-case code, the files it
//! reads, the targets it applies to, a one-line description, an
//! explanation and the public checks it comes from.
//!
//! `docs/security-catalog.md` and `pf-render explain` are generated from
//! this table; a test keeps the document current, and one in `pf-cli`
//! keeps codes unique across every catalog. Codes
//! are never renamed: CI configurations and waivers name them.

use std::fmt;

use serde::Serialize;

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
// The catalog learns new kinds of files.
#[non_exhaustive]
pub enum FileKind {
    /// A Swarm stack or Compose file.
    Stack,
    /// An nginx configuration.
    Nginx,
    /// A PostgreSQL `pg_hba.conf`.
    PgHba,
    /// A Redis server configuration.
    Redis,
    /// A Redis Sentinel configuration.
    Sentinel,
}

impl FileKind {
    /// Every kind, in documentation order.
    pub const ALL: &'static [FileKind] = &[
        Self::Stack,
        Self::Nginx,
        Self::PgHba,
        Self::Redis,
        Self::Sentinel,
    ];

    /// The name used by `--kind` and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stack => "stack",
            Self::Nginx => "nginx",
            Self::PgHba => "pg-hba",
            Self::Redis => "redis",
            Self::Sentinel => "sentinel",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Stack => "Stack and Compose files",
            Self::Nginx => "nginx configuration",
            Self::PgHba => "pg_hba.conf",
            Self::Redis => "Redis configuration",
            Self::Sentinel => "Sentinel configuration",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a stack file is deployed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// `docker stack deploy` (Swarm, v3 file format).
    Swarm,
    /// `docker compose` (compose-spec, one host).
    Compose,
}

impl Target {
    /// The name used by `--target` and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Swarm => "swarm",
            Self::Compose => "compose",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which targets a stack rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Both targets (and every non-stack file).
    Any,
    /// Only stacks deployed with `docker stack deploy`.
    Swarm,
    /// Only files run by `docker compose`.
    Compose,
}

impl Scope {
    /// True when a rule with this scope runs for `target`.
    pub fn covers(self, target: Target) -> bool {
        match self {
            Self::Any => true,
            Self::Swarm => target == Target::Swarm,
            Self::Compose => target == Target::Compose,
        }
    }
}

/// What the lint catalog says about a rule besides what every catalog says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMeta {
    /// The kind of file it reads.
    pub kind: FileKind,
    /// The targets it applies to (stack rules only).
    pub scope: Scope,
    /// The public checks it comes from (KICS, CIS, kube-linter, ...).
    pub anchors: &'static str,
}

const fn meta(kind: FileKind, scope: Scope, anchors: &'static str) -> RuleMeta {
    RuleMeta {
        kind,
        scope,
        anchors,
    }
}

pf_diag::catalog! {
    /// A rule of the catalog. See `docs/security-catalog.md`.
    pub enum Rule in Lint with RuleMeta;

    // ---- Reading the files --------------------------------------------------
    /// Not valid YAML.
    YamlSyntax = ("yaml-syntax", Error, "the file is not valid YAML",
        "The YAML parser stopped at the marked position; nothing else in the file is checked until it parses.",
        meta(FileKind::Stack, Scope::Any, "YAML 1.2")),
    /// A key given twice in one mapping.
    YamlDuplicateKey = ("yaml-duplicate-key", Error, "a key appears twice in one mapping",
        "YAML forbids it and the Compose and Swarm loaders reject the file (`mapping key already defined`). Some YAML tools silently keep the last value instead, so the file means different things to different readers. Remove one.",
        meta(FileKind::Stack, Scope::Any, "YAML 1.2 §3.2.1.1")),
    /// Unbalanced braces or an unterminated quote.
    NginxSyntax = ("nginx-syntax", Error, "the nginx configuration does not tokenize: unbalanced braces or an unterminated quote",
        "The file is read as nginx reads it: directives end with `;`, blocks are `{ ... }`. Fix the marked position; `nginx -t` gives the full verdict.",
        meta(FileKind::Nginx, Scope::Any, "nginx core syntax")),
    /// An `include` that was not read.
    NginxIncludeNotChecked = ("nginx-include-not-checked", Warning, "an `include` names files that were not checked",
        "`lint` follows `include` relative to the including file, within the linted folder, and checks what it includes as part of the including file (a `server_tokens off` in an included snippet counts). It never follows a symbolic link and never reads outside the folder it was given, so an include of an absolute path elsewhere (`/etc/nginx/mime.types`), of `../`, of a link or of a missing file is named instead, unchecked. Lint the folder that holds the included files, or waive the finding with a reason.",
        meta(FileKind::Nginx, Scope::Any, "nginx core `include`")),
    /// A waiver that cannot be used.
    WaiverInvalid = ("waiver-invalid", Error, "a waiver names no known rule, has no reason, or is malformed",
        "Waivers (`x-pf-lint: waivers:` in a stack file, `# pf-lint: waive RULE -- reason` in a config file) switch a rule off for named services or files. Each must name an existing rule and say why, so the exception is reviewable.",
        meta(FileKind::Stack, Scope::Any, "kube-score `ignore` annotations; ESLint directive descriptions")),
    /// A waiver that matched nothing.
    WaiverUnused = ("waiver-unused", Warning, "a waiver matches no finding",
        "The problem it excused is gone (or the waiver names the wrong service or file). Remove it, so it cannot hide a future finding.",
        meta(FileKind::Stack, Scope::Any, "ESLint --report-unused-disable-directives")),

    // ---- Containers: privileges and isolation -------------------------------
    /// `privileged: true`.
    Privileged = ("privileged", Error, "a service runs privileged",
        "A privileged container has every capability and every host device: a compromise is a compromise of the host. Remove `privileged` and add only the capabilities the image documents. (`docker stack deploy` ignores the key, so it only works with Compose.)",
        meta(FileKind::Stack, Scope::Any, "KICS ae5b6871; CIS Docker 5.5; kube-linter privileged-container")),
    /// No `cap_drop: [ALL]`.
    CapabilitiesNotDropped = ("capabilities-not-dropped", Warning, "a service keeps Docker's default capabilities (no `cap_drop: [ALL]`)",
        "Docker grants 14 capabilities by default (CHOWN, DAC_OVERRIDE, NET_RAW, SETUID, ...). Drop them all and add back only what the image documents it needs, with `cap_add`.",
        meta(FileKind::Stack, Scope::Any, "KICS ce76b7d0; CIS Docker 5.4; kube-linter drop-net-raw-capability")),
    /// A capability that amounts to root on the host.
    DangerousCapability = ("dangerous-capability", Error, "a service adds a capability that breaks isolation (ALL, SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, ...)",
        "These capabilities let a process mount file systems, load kernel modules, trace other processes or reconfigure the host network. Remove them; an HA stack of nginx, PostgreSQL and Redis needs none of them.",
        meta(FileKind::Stack, Scope::Any, "KICS ce76b7d0; CIS Docker 5.4")),
    /// no-new-privileges missing.
    NoNewPrivileges = ("no-new-privileges-missing", Warning, "a service can gain privileges through setuid binaries (no `security_opt: [no-new-privileges:true]`)",
        "With `no-new-privileges`, a process cannot gain privileges through setuid or file-capability binaries. Entrypoints that drop privileges (`gosu`, nginx workers) keep working. Swarm cannot express it: see the exception.",
        meta(FileKind::Stack, Scope::Any, "KICS 27fcc7d6, 610e266e; CIS Docker 5.26; kube-linter privilege-escalation-container")),
    /// A writable root file system.
    RootFsWritable = ("root-fs-writable", Warning, "a service's root file system is writable (no `read_only: true`)",
        "A read-only root file system stops an intruder from changing binaries or dropping tools. Set `read_only: true` and mount `tmpfs` volumes where the image documents that it writes.",
        meta(FileKind::Stack, Scope::Any, "CIS Docker 5.13; kube-linter no-read-only-root-fs; kube-score container-security-context-readonlyrootfilesystem")),
    /// No `user:`.
    UserNotSet = ("user-not-set", Warning, "a service does not say which user it runs as (no `user:`, or `root`)",
        "Without `user:` the image decides, and most official images start as root. Run as an unprivileged user where the image supports it, or waive the rule with the image's documented reason (for example an entrypoint that drops privileges itself).",
        meta(FileKind::Stack, Scope::Any, "CIS Docker 4.1; kube-linter run-as-non-root; kube-score container-security-context-user-group-id")),
    /// The Docker socket is mounted.
    DockerSocketMounted = ("docker-socket-mounted", Error, "a service mounts the Docker socket",
        "Access to `docker.sock` is root on the host (and in a swarm, control of every node). Nothing in an HA web stack needs it.",
        meta(FileKind::Stack, Scope::Any, "KICS d6355c88; CIS Docker 5.32; kube-linter docker-sock")),
    /// A sensitive host folder is bind-mounted.
    SensitiveHostMount = ("sensitive-host-mount", Error, "a service bind-mounts a sensitive host folder (`/`, `/etc`, `/proc`, `/sys`, `/dev`, `/boot`, `/lib`, `/usr`, ...)",
        "Writing there changes the host; even reading leaks its secrets. Mount only the files the service needs, read-only.",
        meta(FileKind::Stack, Scope::Any, "KICS 1c1325ff; CIS Docker 5.6; kube-linter sensitive-host-mounts")),
    /// A host namespace is shared.
    HostNamespace = ("host-namespace-shared", Error, "a service shares a host namespace (`network_mode: host`, `pid`, `ipc`, `uts` or `userns_mode: host`)",
        "Sharing the host's network, process, IPC or user namespace removes the isolation that keeps one container from seeing or signalling the host and its neighbours. Use the stack's networks instead.",
        meta(FileKind::Stack, Scope::Any, "KICS 071a71ff, 4f31dd9f, baa3890f, 8af7162d; CIS Docker 5.10, 5.16, 5.17, 5.21, 5.31; kube-linter host-network, host-pid, host-ipc")),
    /// seccomp or AppArmor turned off.
    SecurityProfileDisabled = ("security-profile-disabled", Error, "a service turns off the default seccomp or AppArmor profile",
        "The default seccomp profile blocks about 44 dangerous system calls and AppArmor confines file access. `seccomp:unconfined` or `apparmor:unconfined` removes that. Remove the option.",
        meta(FileKind::Stack, Scope::Any, "KICS 404fde2c; CIS Docker 5.2, 5.22")),
    /// Shared mount propagation.
    SharedMountPropagation = ("shared-mount-propagation", Error, "a bind mount uses shared or slave propagation",
        "With shared propagation, mounts made inside the container appear on the host and the other way round. Use the default (`rprivate`).",
        meta(FileKind::Stack, Scope::Any, "KICS baa452f0; CIS Docker 5.20")),

    // ---- Containers: resources, health, restarts ----------------------------
    /// No memory limit.
    MemoryLimitMissing = ("memory-limit-missing", Error, "a service has no memory limit",
        "A leak or a load spike in one container then takes memory from every other one on the host, including the other replicas: the kernel's OOM killer picks a victim, maybe the database. Set `deploy.resources.limits.memory`.",
        meta(FileKind::Stack, Scope::Any, "KICS bb9ac4f7; CIS Docker 5.11; kube-score container-resources; kube-linter unset-memory-requirements")),
    /// No CPU limit.
    CpuLimitMissing = ("cpu-limit-missing", Warning, "a service has no CPU limit",
        "One busy container can starve the others on its host, including health checks, which then fail and trigger restarts. Set `deploy.resources.limits.cpus` (a quoted string in stack files).",
        meta(FileKind::Stack, Scope::Any, "KICS 6b610c50; CIS Docker 5.12; kube-linter unset-cpu-requirements")),
    /// No PIDs limit.
    PidsLimitMissing = ("pids-limit-missing", Warning, "a service has no PIDs limit",
        "A fork bomb or a thread leak in one container exhausts the host's process table and stops every container on it. Set `deploy.resources.limits.pids` (file format 3.9+; Compose also reads `pids_limit`).",
        meta(FileKind::Stack, Scope::Any, "KICS 221e0658; CIS Docker 5.29")),
    /// No health check.
    HealthcheckMissing = ("healthcheck-missing", Warning, "a service has no health check, or disables the image's",
        "Without a health check a hung process counts as running: Swarm keeps routing to it and never replaces it, rolling updates cannot tell a bad version, and `depends_on: service_healthy` cannot work. Add a `healthcheck` that probes the process inside the container (`127.0.0.1`).",
        meta(FileKind::Stack, Scope::Any, "KICS 698ed579; CIS Docker 5.27; kube-score pod-probes; kube-linter no-liveness-probe")),
    /// Health check tool absent from the image.
    HealthcheckToolMissing = ("healthcheck-tool-missing", Error, "a health check calls `curl` or `wget` in an image that does not ship it",
        "The official PostgreSQL, Redis, MySQL and MongoDB images have no `curl`, and only their Alpine variants have (busybox) `wget`. The check then fails forever and the service never becomes healthy. Use `pg_isready`, `redis-cli -e ... ping`, `mysqladmin ping`, `mongosh --eval`.",
        meta(FileKind::Stack, Scope::Any, "ha-pitfalls C11")),
    /// `$VAR` in a health check that the loader interpolates.
    HealthcheckUnescapedVariable = ("healthcheck-unescaped-variable", Warning, "a health check uses `$VAR`, which is replaced when the file is loaded, not in the container",
        "Compose and `docker stack deploy` interpolate `$VAR` and `${VAR}` from the deploying shell, usually to an empty string. Write `$$VAR` for a variable of the container's shell.",
        meta(FileKind::Stack, Scope::Any, "ha-pitfalls C12; compose-spec interpolation")),
    /// Restarts without a bound.
    RestartPolicyUnbounded = ("restart-policy-unbounded", Warning, "the restart policy never gives up (no `max_attempts`, or `restart: always` / `unless-stopped`)",
        "A container that fails at start is restarted forever, which can load the host and hides the failure. Swarm bounds it with `deploy.restart_policy.max_attempts` (per `window`); Docker Engine can only bound `on-failure:N`. But a bound is final: once reached, Swarm never restarts the task again, even after the cause is gone, until the next service update (moby/moby#32416, #34007). An HA service that must come back after any failure is a deliberate trade-off: keep a `delay` and waive this rule with that reason.",
        meta(FileKind::Stack, Scope::Any, "KICS 2fc99041; CIS Docker 5.15")),
    /// No restart policy at all (Compose).
    RestartPolicyMissing = ("restart-policy-missing", Warning, "a Compose service has no restart policy, so a crashed container stays down",
        "Compose's default is `restart: \"no\"`. Set `restart: on-failure:5` (bounded) or `unless-stopped`, or `deploy.restart_policy`.",
        meta(FileKind::Stack, Scope::Compose, "CIS Docker 5.15")),

    // ---- High availability ----------------------------------------------------
    /// A stateless tier with one instance.
    SingleReplicaStateless = ("single-replica-stateless", Warning, "a stateless service runs a single instance",
        "One instance is not highly available: a crash, a node loss or an update is an outage. Run at least two (`deploy.replicas` in Swarm; two services with the same image in Compose).",
        meta(FileKind::Stack, Scope::Any, "kube-linter minimum-three-replicas; kube-score deployment-has-poddisruptionbudget")),
    /// Fewer than three Sentinels.
    SentinelCountTooLow = ("too-few-sentinels", Error, "fewer than three Redis Sentinels",
        "A failover needs a majority of Sentinels; with one or two, losing one leaves none. The Redis docs: \"You need at least three Sentinel instances for a robust deployment.\"",
        meta(FileKind::Stack, Scope::Any, "Redis Sentinel docs; ha-pitfalls R1")),
    /// Sentinels that can land on one node.
    SentinelsNotSpread = ("sentinels-not-spread", Warning, "Sentinels are not pinned to different nodes",
        "Sentinels must fail independently. Pin each Sentinel service to its own node (a distinct `node.labels...` or `node.hostname` constraint), or run one service with `max_replicas_per_node: 1`.",
        meta(FileKind::Stack, Scope::Any, "Redis Sentinel docs; kube-score statefulset-has-host-podantiaffinity")),
    /// Replicas that can land on one node.
    ReplicasNotSpread = ("replicas-not-spread", Warning, "a replicated service does not spread its replicas over nodes",
        "Without `deploy.placement.max_replicas_per_node` (or a `spread` preference) Swarm may put every replica on one node, and losing that node loses the tier.",
        meta(FileKind::Stack, Scope::Any, "kube-score deployment-has-host-podantiaffinity; kube-linter no-anti-affinity")),
    /// No update_config.
    UpdateConfigMissing = ("update-config-missing", Warning, "a service has no `deploy.update_config`",
        "The defaults update one task at a time with `failure_action: pause` and no monitor period, so a broken version is only noticed by hand. Set `parallelism`, `delay`, `monitor`, `failure_action: rollback` and `order`.",
        meta(FileKind::Stack, Scope::Any, "kube-linter no-rolling-update-strategy; kube-score deployment-has-poddisruptionbudget; ha-pitfalls 4.4")),
    /// No rollback_config.
    RollbackConfigMissing = ("rollback-config-missing", Warning, "a service has no `deploy.rollback_config`",
        "A rollback then uses Swarm's defaults (all tasks at once for some versions of the engine). State how to roll back: `parallelism`, `monitor`, `failure_action: pause`, `order`.",
        meta(FileKind::Stack, Scope::Any, "ha-pitfalls 4.4")),
    /// An update that replaces every task at once.
    UpdateAllAtOnce = ("update-all-at-once", Warning, "an update replaces every replica at once (`parallelism: 0` or at least the replica count)",
        "The whole tier is down while the new version starts. Use a parallelism below the replica count.",
        meta(FileKind::Stack, Scope::Swarm, "kube-score deployment-has-poddisruptionbudget")),
    /// start-first on a stateful service.
    StartFirstStateful = ("start-first-stateful", Error, "`order: start-first` on a single-instance service with a volume",
        "The new task starts before the old one stops, so two database or Redis processes run on one data volume and corrupt it. Use `order: stop-first`.",
        meta(FileKind::Stack, Scope::Swarm, "ha-pitfalls C8")),
    /// A mistyped enum in deploy.
    InvalidDeployValue = ("invalid-deploy-value", Error, "a `deploy` value is not one the engine accepts (failure_action, order, restart condition)",
        "The v3 schema leaves `failure_action` free text, so a typo reaches the daemon. Allowed: `update_config.failure_action` continue|pause|rollback, `rollback_config.failure_action` continue|pause, `order` stop-first|start-first, `restart_policy.condition` none|on-failure|any.",
        meta(FileKind::Stack, Scope::Any, "ha-pitfalls C4")),
    /// replicas with mode global.
    ReplicasWithGlobalMode = ("replicas-with-global-mode", Error, "`replicas` together with `mode: global`",
        "Swarm rejects it: `replicas can only be used with replicated or replicated-job mode`. Remove one.",
        meta(FileKind::Stack, Scope::Any, "ha-pitfalls C7")),
    /// container_name with replicas.
    ContainerNameWithReplicas = ("container-name-with-replicas", Error, "`container_name` on a service with more than one replica",
        "Container names are unique per host; Compose refuses (`can't set container_name ... as container name must be unique`). Remove `container_name`, or run one service per instance.",
        meta(FileKind::Stack, Scope::Compose, "ha-pitfalls C6")),

    // ---- Images -------------------------------------------------------------
    /// No tag, or a moving one.
    ImageTagFloating = ("image-tag-floating", Warning, "an image has no tag, or a moving one (`latest`, `stable`, `alpine`, ...)",
        "Two nodes can then run different versions, and a redeploy upgrades by surprise. Pin a version (`postgres:16.6`) or a digest.",
        meta(FileKind::Stack, Scope::Any, "kube-score container-image-tag; kube-linter latest-tag; Checkov CKV_DOCKER_7")),
    /// No image (Swarm).
    ImageMissing = ("image-missing", Error, "a service has no `image` (Swarm does not build)",
        "`docker stack deploy` fails with `invalid image reference for service ...: no image specified`. Build and push the image, then name it.",
        meta(FileKind::Stack, Scope::Swarm, "docker/cli stack loader")),

    // ---- Networks and ports -------------------------------------------------
    /// No explicit networks.
    NetworksNotSet = ("networks-not-set", Warning, "a service has no `networks`, so it joins the default network with everything else",
        "Per-tier networks keep the load balancer away from the database. Declare networks and attach each service to the ones it needs.",
        meta(FileKind::Stack, Scope::Any, "KICS ce14a68b; CIS Docker 5.30; kube-score pod-networkpolicy; kube-linter non-isolated-pod")),
    /// Database or cache on a network that is not internal.
    DataNetworkNotInternal = ("data-network-not-internal", Warning, "a database or cache service is on a network that is not `internal: true`",
        "An internal network has no route out of the host or swarm, so a compromised database cannot call out, and nothing can be published from it. Put PostgreSQL, Redis and Sentinel on an internal network shared with the apps; the load balancer stays on a separate front network.",
        meta(FileKind::Stack, Scope::Any, "kube-score pod-networkpolicy; kube-linter non-isolated-pod; security-and-testing 4.9")),
    /// Overlay without encryption.
    OverlayUnencrypted = ("overlay-unencrypted", Warning, "an overlay network is not encrypted",
        "Traffic between nodes, including database passwords during authentication, crosses the wire in the clear. Add `driver_opts: {encrypted: \"\"}` and allow IP protocol 50 (ESP) between the hosts.",
        meta(FileKind::Stack, Scope::Any, "CIS Docker 7.3; Moby GHSA-6wrf-mxfj-pf5p")),
    /// Published port on all interfaces.
    PortNotBoundToHostIp = ("port-not-bound-to-host-ip", Warning, "a published port listens on every host interface",
        "Bind published ports to the interface that should serve them (`127.0.0.1:8080:80`, or `host_ip` in the long syntax). Swarm cannot: see the exception.",
        meta(FileKind::Stack, Scope::Any, "KICS 451d79dc; CIS Docker 5.14, 7.2")),
    /// Privileged port other than 80/443.
    PrivilegedPortPublished = ("privileged-port-published", Warning, "a port below 1024 other than 80 and 443 is published",
        "Ports below 1024 need NET_BIND_SERVICE in the container and are usually system services. HTTP (80) and HTTPS (443) on the entry point are the documented exception.",
        meta(FileKind::Stack, Scope::Any, "KICS bc2908f3; CIS Docker 5.8; kube-linter privileged-ports")),
    /// A non-LB service publishes ports.
    PortsPublishedByNonLb = ("ports-published-by-non-lb", Warning, "a service other than the load balancer publishes ports",
        "Every published port is reachable from outside the host (in Swarm, on every node). Databases, caches, Sentinels, Prometheus and Grafana belong on internal networks; reach them through the load balancer, an SSH tunnel or `docker exec`.",
        meta(FileKind::Stack, Scope::Any, "CIS Docker 5.9; kube-linter exposed-services, ssh-port")),

    // ---- Secrets --------------------------------------------------------------
    /// A secret-looking variable with a value.
    SecretInEnvironment = ("env-secret-value", Error, "an environment variable named like a secret (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`, a word `PASS` or `KEY`) has a value",
        "Names are matched by `pf_diag::secret_like::name_looks_secret`, the rule topologies are checked with: a word `PASS`, `PWD`, `KEY`, `APIKEY`, `PASSPHRASE` or `CREDENTIALS`, or a word containing `PASSWORD`, `PASSWD`, `SECRET`, `TOKEN` or `CREDENTIAL`; `*_FILE` names are paths. A literal value is in the file, in version control and in `docker inspect`; an interpolated one is still in `docker inspect` and the process environment. Use Docker secrets (files under `/run/secrets/`) and the image's `*_FILE` variable.",
        meta(FileKind::Stack, Scope::Any, "KICS a88baa34 (CWE-798); kube-linter env-var-secret, read-secret-from-env-var; CIS Docker 4.10, 7.4")),
    /// A password on the command line.
    SecretInCommand = ("secret-in-command", Error, "a `command` or `entrypoint` passes a password as an argument (`--requirepass x`, `--password=x`)",
        "The value is in the file and in every process listing (`ps`, `docker inspect`). Read it from a secret file inside the container instead (an entrypoint that reads `/run/secrets/<name>`, or the program's `*_FILE` option).",
        meta(FileKind::Stack, Scope::Any, "KICS a88baa34 (CWE-798); CIS Docker 4.10")),
    /// Password inside a URL.
    CredentialsInUrl = ("credentials-in-url", Error, "an environment value is a URL with a password in it (`scheme://user:password@host`)",
        "Connection strings leak like any other variable. Give the application the password as a file and build the URL inside the container.",
        meta(FileKind::Stack, Scope::Any, "KICS a88baa34 (CWE-798)")),

    // ---- What `docker stack deploy` does with a file ---------------------------
    /// A key docker stack deploy ignores.
    KeyIgnoredByStackDeploy = ("key-ignored-by-stack-deploy", Error, "a key that `docker stack deploy` ignores (`container_name`, `restart`, `depends_on`, `security_opt`, `privileged`, `build`, `links`, ...)",
        "`docker stack deploy` prints `Ignoring unsupported options` (docker/cli UnsupportedProperties) or `Ignoring deprecated options` (container_name, expose) and deploys without them; `depends_on` is dropped without a word. The file then promises what Swarm does not do. Use `deploy.restart_policy`, health checks, and retrying clients instead.",
        meta(FileKind::Stack, Scope::Swarm, "docker/cli cli/compose/types UnsupportedProperties, DeprecatedProperties; ha-pitfalls C2")),
    /// A key docker stack deploy rejects.
    KeyRejectedByStackDeploy = ("key-rejected-by-stack-deploy", Error, "a key that `docker stack deploy` rejects (`mem_limit`, `cpu_shares`, `cpuset`, `volumes_from`, `extends`, top-level `name`, ...)",
        "docker/cli ForbiddenProperties fail the deploy with `compose file contains unsupported options` (\"Set resource limits using deploy.resources\"); the v3 schema has no top-level `name`.",
        meta(FileKind::Stack, Scope::Swarm, "docker/cli cli/compose/types ForbiddenProperties; ha-pitfalls C1, C3")),
    /// cpus as a number.
    CpusNotString = ("cpus-not-string", Error, "`cpus` is a number, but the v3 schema wants a string",
        "`docker stack deploy` fails with `services.X.deploy.resources.limits.cpus must be a string`. Quote it: `cpus: '0.5'`. (`docker compose config` prints numbers, so piping it into a stack breaks.)",
        meta(FileKind::Stack, Scope::Swarm, "docker/cli#5009; ha-pitfalls C5")),
    /// Swarm config without a versioned name.
    ConfigNotVersioned = ("config-not-versioned", Warning, "a Swarm config or secret read from a file has no `name`",
        "Swarm configs and secrets are immutable: after the file changes, the next deploy fails with `only updates to Labels are allowed`. Give each a `name` that changes with the content (for example a hash suffix).",
        meta(FileKind::Stack, Scope::Swarm, "ha-pitfalls 4.7, C9")),

    // ---- nginx ----------------------------------------------------------------
    /// server_tokens not off.
    NginxServerTokens = ("nginx-server-tokens", Warning, "nginx announces its version (`server_tokens` is not `off`)",
        "The version in every `Server:` header and error page tells a scanner which CVEs to try. Set `server_tokens off;` in `http`.",
        meta(FileKind::Nginx, Scope::Any, "CIS NGINX 2.5.1")),
    /// Long client timeouts.
    NginxTimeoutTooLong = ("nginx-timeout-too-long", Warning, "a client timeout is missing or longer than 10s (`client_header_timeout`, `client_body_timeout`, `keepalive_timeout`, `send_timeout`)",
        "The defaults (60s, 75s keep-alive) let slow clients hold connections and workers (slowloris). Set each to 10s or less in `http`.",
        meta(FileKind::Nginx, Scope::Any, "CIS NGINX 2.4.3, 2.4.4, 5.2.1")),
    /// No explicit body size.
    NginxBodySizeImplicit = ("nginx-body-size-implicit", Warning, "`client_max_body_size` is not set explicitly",
        "State the largest request body the application accepts, so the limit is a decision rather than nginx's 1m default.",
        meta(FileKind::Nginx, Scope::Any, "CIS NGINX 5.2.2")),
    /// stub_status without an allow-list.
    NginxStatusOpen = ("nginx-status-open", Error, "a `stub_status` location is not restricted with `allow` ... `deny all`",
        "`stub_status` reveals traffic figures. Allow loopback and the monitoring network, then `deny all` (in the location or the server around it).",
        meta(FileKind::Nginx, Scope::Any, "security-and-testing 2.3; ha-pitfalls 1.7")),
    /// Old TLS protocols.
    NginxTlsProtocols = ("nginx-tls-protocols", Error, "a TLS server allows protocols older than TLS 1.2, or does not state `ssl_protocols`",
        "SSLv3, TLS 1.0 and 1.1 are broken or deprecated (RFC 8996). Mozilla intermediate: `ssl_protocols TLSv1.2 TLSv1.3;`.",
        meta(FileKind::Nginx, Scope::Any, "Mozilla server-side TLS 6.0 intermediate; CIS NGINX 4.1.4")),
    /// Ciphers outside Mozilla intermediate.
    NginxTlsCiphers = ("nginx-tls-ciphers", Warning, "TLS 1.2 ciphers are not stated, or go beyond Mozilla's intermediate list",
        "Set `ssl_ciphers` to the Mozilla intermediate list (ECDHE with AES-GCM or CHACHA20-POLY1305) and `ssl_prefer_server_ciphers off;`.",
        meta(FileKind::Nginx, Scope::Any, "Mozilla server-side TLS 6.0 intermediate; CIS NGINX 4.1.5")),
    /// No HSTS.
    NginxHstsMissing = ("nginx-hsts-missing", Warning, "a TLS server does not send `Strict-Transport-Security` with at least two years' `max-age`",
        "Without HSTS a browser can be downgraded to plain HTTP. Add `add_header Strict-Transport-Security \"max-age=63072000\" always;` (and remember that an `add_header` in a location replaces the server's).",
        meta(FileKind::Nginx, Scope::Any, "Mozilla server-side TLS 6.0 (hsts_min_age 63072000); CIS NGINX 4.1.8")),

    // ---- pg_hba.conf ----------------------------------------------------------
    /// trust/password/md5/ident over TCP.
    PgHbaWeakAuth = ("pg-hba-weak-auth", Error, "a TCP line uses `trust`, `password`, `md5` or `ident`",
        "`trust` lets anyone in as any user, `password` sends it in clear text, `md5` is open to replay and pass-the-hash, `ident` believes the client. Use `scram-sha-256` (and `password_encryption = scram-sha-256`).",
        meta(FileKind::PgHba, Scope::Any, "CIS PostgreSQL 5.4; PostgreSQL docs, Authentication Methods")),
    /// 0.0.0.0/0 or all.
    PgHbaOpenAddress = ("pg-hba-open-address", Error, "a line accepts every address (`all`, `0.0.0.0/0`, `::/0`)",
        "The official image itself appends `host all all all ...`; a generated file should name the networks that may connect (the overlay subnet, loopback).",
        meta(FileKind::PgHba, Scope::Any, "docker-library/postgres docker-entrypoint.sh; ha-pitfalls P4")),
    /// No replication line.
    PgHbaNoReplicationLine = ("pg-hba-no-replication-line", Warning, "no line allows replication connections",
        "The keyword `all` does not match replication: streaming replicas and `pg_basebackup` need their own `host replication <role> <network>` line, before broader lines.",
        meta(FileKind::PgHba, Scope::Any, "pg_hba.conf sample; ha-pitfalls P4")),
    /// Replication for every user.
    PgHbaReplicationAnyUser = ("pg-hba-replication-any-user", Warning, "a replication line accepts every user",
        "Replication reads every byte of the cluster. Allow it to a dedicated role with the REPLICATION attribute only.",
        meta(FileKind::PgHba, Scope::Any, "CIS PostgreSQL 7.1")),
    /// host instead of hostssl.
    PgHbaTcpWithoutTls = ("pg-hba-tcp-without-tls", Warning, "a non-loopback TCP line accepts connections without TLS (`host` or `hostnossl`, not `hostssl`)",
        "Without TLS the traffic (queries and results) is readable on the network; SCRAM protects only the password. Use `hostssl` with `ssl = on`, or keep the traffic on an encrypted, internal network and waive the rule saying so.",
        meta(FileKind::PgHba, Scope::Any, "CIS PostgreSQL 5.4 (hostssl example); security-and-testing 4.8")),

    // ---- Redis ----------------------------------------------------------------
    /// No password.
    RedisAuthMissing = ("redis-auth-missing", Error, "a Redis server has no password (`requirepass`, an ACL user or `aclfile`)",
        "The official image turns protected mode off, so a Redis without a password accepts every command (CONFIG, MODULE LOAD, ...) from anyone who can reach it. Set `requirepass` (or ACL users) from a secret file at start.",
        meta(FileKind::Redis, Scope::Any, "docker-library/docs redis; Redis security docs; ha-pitfalls R6")),
    /// Replica without masterauth.
    RedisReplicaAuthMissing = ("redis-replica-auth-missing", Error, "a replica has no `masterauth`",
        "A replica of a password-protected master cannot sync without it, and after a failover the old master (now a replica) cannot either. Set `masterauth` on every data node.",
        meta(FileKind::Redis, Scope::Any, "Redis replication docs; ha-pitfalls R6")),
    /// protected-mode no.
    RedisProtectedModeOff = ("redis-protected-mode-off", Warning, "`protected-mode no` on a Redis server",
        "Protected mode refuses remote clients while the default user has no password: a safety net if the password setting is ever lost. Keep `protected-mode yes`.",
        meta(FileKind::Redis, Scope::Any, "redis.conf")),
    /// rename-command.
    RedisRenameCommand = ("redis-rename-command", Warning, "`rename-command` is used",
        "Command renaming is deprecated, breaks clients and Sentinel (which calls CONFIG and REPLICAOF), and is no access control. Use ACLs.",
        meta(FileKind::Redis, Scope::Any, "redis.conf (\"Command renaming (DEPRECATED)\")")),

    // ---- Sentinel ---------------------------------------------------------------
    /// No auth-pass for a monitored master.
    SentinelAuthPassMissing = ("sentinel-auth-pass-missing", Error, "Sentinel monitors a master without `sentinel auth-pass`",
        "Sentinel cannot talk to a password-protected master or its replicas, so it sees them down and cannot fail over. Set `sentinel auth-pass <master> <password>` (from a secret file at start).",
        meta(FileKind::Sentinel, Scope::Any, "sentinel.conf; ha-pitfalls R6")),
    /// Sentinel without its own password.
    SentinelWithoutPassword = ("sentinel-without-password", Warning, "Sentinel itself has no password (`requirepass`)",
        "Anyone who reaches port 26379 can run `SENTINEL SET`, `SENTINEL RESET` or `SENTINEL FAILOVER`. Since Redis 6.2 Sentinel supports `requirepass` (and `sentinel sentinel-pass` between Sentinels); otherwise keep it on an internal network and say so.",
        meta(FileKind::Sentinel, Scope::Any, "sentinel.conf; Redis Sentinel docs (ACL)")),
    /// deny-scripts-reconfig no.
    SentinelScriptsReconfig = ("sentinel-scripts-reconfig", Error, "`sentinel deny-scripts-reconfig no` lets clients change notification scripts",
        "With it, `SENTINEL SET` can point `notification-script` at any program, which Sentinel then runs: remote code execution. Keep the default, `yes`.",
        meta(FileKind::Sentinel, Scope::Any, "sentinel.conf")),
    /// Host name without resolve-hostnames.
    SentinelHostnameWithoutResolve = ("sentinel-hostname-without-resolve", Error, "Sentinel monitors a host name without `sentinel resolve-hostnames yes`",
        "Before Redis 6.2, and without the option since, Sentinel only takes IP addresses and fails with `Can't resolve instance hostname`. Container addresses change; add `sentinel resolve-hostnames yes` and `sentinel announce-hostnames yes`.",
        meta(FileKind::Sentinel, Scope::Any, "Redis Sentinel docs; ha-pitfalls R3")),
    /// quorum below 1.
    SentinelQuorumInvalid = ("sentinel-quorum-invalid", Error, "the quorum of `sentinel monitor` is not a positive number",
        "The quorum is how many Sentinels must agree that the master is down; use the majority of the Sentinels, `count / 2 + 1`.",
        meta(FileKind::Sentinel, Scope::Any, "Redis Sentinel docs; ha-pitfalls R1")),
}

impl Rule {
    /// The kind of file it reads.
    pub fn kind(self) -> FileKind {
        self.meta().kind
    }

    /// The targets it applies to (stack rules only).
    pub fn scope(self) -> Scope {
        self.meta().scope
    }

    /// The public checks it comes from (KICS, CIS, kube-linter, ...).
    pub fn anchors(self) -> &'static str {
        self.meta().anchors
    }
}

/// A catalog check that cannot be met on a target, and why. Reported for
/// every file of that target instead of being skipped in silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// The rule that is not applied.
    pub rule: Rule,
    /// Where it cannot be met.
    pub target: Target,
    /// Why.
    pub reason: &'static str,
}

/// Every target exception.
pub const EXCEPTIONS: &[Exception] = &[
    Exception {
        rule: Rule::NoNewPrivileges,
        target: Target::Swarm,
        reason: "`security_opt` is in docker/cli's UnsupportedProperties: `docker stack deploy` drops it with \"Ignoring unsupported options: security_opt\", and Swarm services have no other way to set no-new-privileges",
    },
    Exception {
        rule: Rule::PortNotBoundToHostIp,
        target: Target::Swarm,
        reason: "the v3 `ports` syntax has no `host_ip`: Swarm publishes on every interface of a node (ingress or host mode); restrict exposure with the hosts' firewall",
    },
    Exception {
        rule: Rule::OverlayUnencrypted,
        target: Target::Compose,
        reason: "docker compose runs on one host with bridge networks: traffic never crosses hosts, and bridge networks have no encryption option",
    },
    Exception {
        rule: Rule::UpdateConfigMissing,
        target: Target::Compose,
        reason: "docker compose has no rolling update: it recreates containers, and `deploy.update_config` is read only by Swarm",
    },
    Exception {
        rule: Rule::RollbackConfigMissing,
        target: Target::Compose,
        reason: "docker compose has no rollback: `deploy.rollback_config` is read only by Swarm",
    },
    Exception {
        rule: Rule::ReplicasNotSpread,
        target: Target::Compose,
        reason: "docker compose runs on one host: there is no other node to spread replicas to",
    },
    Exception {
        rule: Rule::SentinelsNotSpread,
        target: Target::Compose,
        reason: "docker compose runs on one host: every Sentinel shares it, and fails with it (the topology check warns `sentinels-share-nodes`)",
    },
];

/// The exceptions of one target.
pub fn exceptions(target: Target) -> impl Iterator<Item = &'static Exception> {
    EXCEPTIONS.iter().filter(move |e| e.target == target)
}

/// The document `docs/security-catalog.md`, generated from this table.
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Security and HA catalog\n\n\
         <!-- Generated from crates/pf-lint/src/rules.rs by `pf-render explain --catalog`; a test keeps it current. -->\n\n\
         `pf-render lint FILE|DIR...` checks deployable files against these rules: stack and Compose\n\
         YAML, nginx configuration, `pg_hba.conf`, Redis and Sentinel configuration. Every bundle the\n\
         generator renders passes all of them (a test lints every bundle of every topology); where a\n\
         bundle deviates on purpose, the stack file says so in a waiver with its reason.\n\
         `pf-render explain CODE` prints one entry.\n\n\
         Errors fail `lint` (exit 1); warnings do not, unless `--deny-warnings`.\n\n\
         ## Waivers\n\n\
         A finding can be waived only with a reason, and a waiver that matches nothing is itself a\n\
         warning (`waiver-unused`):\n\n\
         ```yaml\n\
         x-pf-lint:\n  \
           waivers:\n  \
           - rule: healthcheck-missing\n    \
             services: [redis-exporter]          # optional: these services only\n    \
             files: [redis/master.conf]          # optional: files of the bundle instead of this one\n    \
             reason: the image has no shell or HTTP client; Prometheus alerts on up == 0\n\
         ```\n\n\
         In nginx, pg_hba, Redis and Sentinel files: `# pf-lint: waive RULE[,RULE] -- reason`.\n\n\
         ## Exceptions by target\n\n\
         These checks cannot be met on a target. `lint` names them for every file of that target\n\
         (human output: `note`; JSON: `exceptions`) instead of skipping them silently.\n\n\
         | rule | target | why |\n|---|---|---|\n",
    );
    for e in EXCEPTIONS {
        out.push_str(&format!(
            "| [`{0}`](#{0}) | {1} | {2} |\n",
            e.rule.name(),
            e.target,
            e.reason
        ));
    }
    for kind in FileKind::ALL {
        out.push_str(&format!(
            "\n## {}\n\n| code | severity | targets | what it checks |\n|---|---|---|---|\n",
            kind.title()
        ));
        for rule in Rule::ALL.iter().filter(|r| r.kind() == *kind) {
            out.push_str(&format!(
                "| [`{0}`](#{0}) | {1} | {2} | {3} |\n",
                rule.name(),
                rule.severity(),
                scope_name(rule.scope()),
                rule.description().replace('|', "\\|")
            ));
        }
    }
    out.push_str("\n## Rules\n");
    for rule in Rule::ALL {
        out.push_str(&format!("\n### `{}`\n\n{}\n", rule.name(), entry(*rule)));
    }
    out
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Any => "all",
        Scope::Swarm => "swarm",
        Scope::Compose => "compose",
    }
}

/// One rule's documentation (for the catalog and `pf-render explain`).
pub fn entry(rule: Rule) -> String {
    let mut text = format!(
        "**{}** ({} files, targets: {}): {}.\n\n{}\n\nAnchors: {}.\n",
        rule.severity(),
        rule.kind(),
        scope_name(rule.scope()),
        rule.description(),
        rule.explanation(),
        rule.anchors()
    );
    for e in EXCEPTIONS.iter().filter(|e| e.rule == rule) {
        text.push_str(&format!("\nException on {}: {}.\n", e.target, e.reason));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog-wide checks (unique across catalogs, kebab-case,
    /// described) are in `pf-cli`, where every catalog meets.
    #[test]
    fn every_rule_names_a_source() {
        for rule in Rule::ALL {
            assert!(!rule.anchors().is_empty(), "{}: name a source", rule.name());
        }
    }

    #[test]
    fn exceptions_name_rules_that_apply_to_their_target() {
        for e in EXCEPTIONS {
            // A rule scoped to one target is simply not about the other;
            // an exception is for a check that applies but cannot be met.
            assert_eq!(e.rule.kind(), FileKind::Stack);
            assert_eq!(e.rule.scope(), Scope::Any, "{}", e.rule);
        }
    }

    #[test]
    fn docs_are_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/security-catalog.md"
        );
        let expected = catalog_markdown();
        if std::env::var_os("PF_UPDATE_DOCS").is_some() {
            std::fs::write(path, &expected).expect("write docs/security-catalog.md");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == expected,
            "docs/security-catalog.md is stale: run `PF_UPDATE_DOCS=1 cargo test -p pf-lint docs_are_current`"
        );
    }
}
