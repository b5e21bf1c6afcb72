# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# `pf-render plan` against the real Swarm: after the stack is deployed,
# change one thing at a time (an app's image tag, a Sentinel setting,
# PostgreSQL's memory limit, the Redis password rotated to version 2, an app
# service removed), ask `pf-render plan`
# which services the deploy restarts, deploy with the bundle's own
# setup-swarm.sh --deploy, and compare with the services whose running task
# ids actually changed. After each change the bundle under test is deployed
# again, and that deploy is planned and compared the same way, so the
# checks that follow see the stack they expect.

# How long one deploy may take (setup-swarm.sh waits for every step).
PLAN_DEPLOY_TIMEOUT=${PF_TEST_PLAN_DEPLOY_TIMEOUT:-900}

plancheck_run() {
    local logd=$1/plan apps=() first image
    mkdir -p "$logd"
    if ! skip_unless "plan" "plan against the deployed stack" postgres redis sentinels nginx; then
        return
    fi
    mapfile -t apps < <(python3 "$REPO/containers/lib/plan_edit.py" apps "$TDIR/topology.toml")
    first=${apps[0]}
    image=$(python3 -c 'import sys, tomllib
doc = tomllib.load(open(sys.argv[1], "rb"))
print(next(s["image"] for s in doc["services"] if s["name"] == sys.argv[2]))' "$TDIR/topology.toml" "$first")
    # The new tag is the same image under another name, on every node.
    local node
    for node in "${NODES[@]}"; do
        dk "$node" tag "$image" "$image-plan" >/dev/null
    done
    plancheck_step "$logd" "image of $first" image "$first" "$image-plan"
    plancheck_step "$logd" "a Sentinel setting (down-after)" sentinel
    plancheck_step "$logd" "PostgreSQL memory limit" pg-memory
    plancheck_step "$logd" "secret ${REDIS_SECRET} rotated to version 2" rotate "$REDIS_SECRET"
    if ((${#apps[@]} > 1)); then
        plancheck_step "$logd" "app ${apps[-1]} removed" remove "${apps[-1]}"
    fi
    for node in "${NODES[@]}"; do
        dk "$node" image rm "$image-plan" >/dev/null 2>&1 || true
    done
}

# plancheck_step LOGD WHAT EDIT ARGS...: the change, then the way back.
plancheck_step() {
    local logd=$1 what=$2 edit=$3
    shift 3
    local dir=$logd/$edit
    mkdir -p "$dir"
    # Same file name as the bundle under test: every generated header, so
    # every config hash of an unchanged file, stays the same.
    if ! python3 "$REPO/containers/lib/plan_edit.py" "$edit" "$TDIR/topology.toml" "$dir/topology.toml" "$@" \
        2>"$dir/edit.log"; then
        record plan "$what: edit the topology" "$(head -c 200 "$dir/edit.log")" "the edit applies" fail
        return
    fi
    plancheck_deploy "$dir" "$what" "$dir/topology.toml"
    if [[ $edit == rotate ]]; then
        plancheck_rotated "$1"
    fi
    plancheck_deploy "$dir/back" "$what, then back to the bundle under test" "$TDIR/topology.toml"
}

# After the rotation deploy: the new version exists, the old one is gone,
# and the services that read it still reach Redis with it (the checks of
# the data nodes and Sentinels, again).
plancheck_rotated() {
    local secret=$1 names
    names=$(docker secret ls --format '{{.Name}}' | grep -E "^${STACK}_${secret}(_v[0-9]+)?\$" | sort | tr '\n' ' ')
    check_row plan "rotation: only ${STACK}_${secret}_v2 left after the deploy" "${names:-none}" \
        "${STACK}_${secret}_v2" test "${names% }" = "${STACK}_${secret}_v2"
    check_redis
    check_sentinels
}

# plancheck_deploy DIR WHAT TOPOLOGY: plan, deploy TOPOLOGY's bundle,
# compare the restarted services with the changed task ids.
plancheck_deploy() {
    local dir=$1 what=$2 topology=$3 rc=0 planned actual
    mkdir -p "$dir"
    rm -rf "$dir/bundle"
    if ! "$PF_RENDER" swarm "$topology" -o "$dir/bundle" >"$dir/render.log" 2>&1; then
        record plan "$what: render" "$(grep -m1 '^error' "$dir/render.log" | cut -c1-200)" "renders" fail
        return
    fi
    # Exit 1 is a verdict (a warning at --deny warning, here only errors);
    # the services are in the report either way.
    "$PF_RENDER" plan "$topology" --stack "$STACK" -H "$(engine_sock n1)" --format json \
        >"$dir/plan.json" 2>"$dir/plan.log" || rc=$?
    if ((rc >= 2)); then
        record plan "$what: pf-render plan" "exit $rc: $(grep -m1 '^error' "$dir/plan.log" | cut -c1-200)" "exit 0 or 1" fail
        return
    fi
    planned=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(sorted(s["service"] for s in r["services"] if s["change"] == "restarted")))' "$dir/plan.json")
    plancheck_tasks >"$dir/tasks-before.txt"
    rc=0
    # --create-secrets first: a rotated secret's new version (the others exist).
    SECRETS_DIR=$SECRETS_DIR bounded "$PLAN_DEPLOY_TIMEOUT" bash "$dir/bundle/scripts/setup-swarm.sh" \
        --create-secrets --deploy >"$dir/deploy.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        record plan "$what: setup-swarm.sh --create-secrets --deploy" "exit $rc: $(tail -n1 "$dir/deploy.log" | cut -c1-200)" "exit 0" fail
        return
    fi
    plancheck_tasks >"$dir/tasks-after.txt"
    actual=$(plancheck_changed "$dir/tasks-before.txt" "$dir/tasks-after.txt")
    record plan "$what: services pf-render plan said restart = services whose task ids changed" \
        "plan: ${planned:-none}; changed: ${actual:-none}" "equal" \
        "$([[ $planned == "$actual" ]] && echo pass || echo fail)"
}

# "service task-id" of every running task of the stack, sorted.
plancheck_tasks() {
    docker stack ps "$STACK" --filter desired-state=running --no-trunc --format '{{.Name}} {{.ID}}' |
        awk '{ n = $1; sub(/\.[^.]*$/, "", n); print n, $2 }' | sort
}

# The services (full names) whose set of running task ids differs, sorted,
# on one line.
plancheck_changed() {
    python3 - "$1" "$2" <<'EOF'
import sys
def read(path):
    tasks = {}
    for line in open(path):
        name, _, task = line.strip().partition(" ")
        if name:
            tasks.setdefault(name, set()).add(task)
    return tasks
before, after = read(sys.argv[1]), read(sys.argv[2])
changed = [s for s in sorted(set(before) | set(after))
           if s in before and s in after and before[s] != after[s]]
print(" ".join(changed))
EOF
}
