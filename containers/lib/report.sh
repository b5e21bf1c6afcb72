# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Results: one row per check (scenario | check | measured | budget | result),
# one table per topology and target, printed as soon as the target is done
# and again at the end; the run fails when any row failed.

ROWS=()          # "table\tscenario\tcheck\tmeasured\tbudget\tresult"
TIMINGS=()
TABLE=""         # the table rows go to, set by report_table
FAILED=0
LIMITED=0        # failures that are environment limits (limits.sh)

# Starts a new table; what failed in the previous one is forgotten.
report_table() {
    TABLE=$1
    DEP_FAILED=()
}

# Dependencies between checks: when one fails (replicas not streaming,
# Sentinels not agreeing), the checks that need it record "skipped: needs
# ..." at once instead of waiting out their own bounds.
declare -A DEP_FAILED=()
# dep_fail NAME WHY: NAME is broken (WHY: what failed, for the skip rows).
dep_fail() { DEP_FAILED[$1]=${DEP_FAILED[$1]:-$2}; }
dep_ok() {
    local d
    for d in "$@"; do
        [[ -z ${DEP_FAILED[$d]:-} ]] || return 1
    done
}
# What the first broken one of NAMES is, for a skip row.
dep_why() {
    local d
    for d in "$@"; do
        if [[ -n ${DEP_FAILED[$d]:-} ]]; then
            printf '%s' "${DEP_FAILED[$d]}"
            return
        fi
    done
}
# skip_unless SCENARIO CHECK NAME...: records a skip row and fails when one
# of NAMES is broken; succeeds (and records nothing) otherwise.
skip_unless() {
    local scenario=$1 check=$2
    shift 2
    if dep_ok "$@"; then
        return 0
    fi
    record "$scenario" "$check" "skipped: needs $(dep_why "$@")" "-" skip
    return 1
}

# record SCENARIO CHECK MEASURED BUDGET pass|fail|skip|info (only fail fails
# the run; a failure that is a known environment limit is recorded as
# "limit", with the reason, see limits.sh)
record() {
    local result=$5 measured=$3 why
    if [[ $result == fail ]] && why=$(env_limit "$1" "$2"); then
        result=limit
        measured="$measured [$why]"
        LIMITED=$((LIMITED + 1))
    fi
    set -- "$1" "$2" "$measured" "$4" "$result"
    LAST_RESULT=$result
    ROWS+=("$TABLE"$'\t'"$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$result")
    if [[ $result == fail ]]; then
        FAILED=$((FAILED + 1))
    fi
    printf '    [%s] %s: %s (%s; budget %s)\n' "$result" "$1" "$2" "$3" "$4"
}

# check_row SCENARIO CHECK MEASURED BUDGET COMMAND...: records pass when the
# command succeeds, fail otherwise.
check_row() {
    local scenario=$1 check=$2 measured=$3 budget=$4
    shift 4
    if "$@"; then
        record "$scenario" "$check" "$measured" "$budget" pass
    else
        record "$scenario" "$check" "$measured" "$budget" fail
    fi
}

report_timing() { TIMINGS+=("$1"$'\t'"$2"); }

# Prints one table as Markdown (it is pasted into docs/containers.md as is).
report_print() {
    local table=$1 row t s c m b r
    printf '\n### %s\n\n' "$table"
    printf '| scenario | check | measured | budget | result |\n|---|---|---|---|---|\n'
    for row in "${ROWS[@]}"; do
        IFS=$'\t' read -r t s c m b r <<<"$row"
        [[ $t == "$table" ]] || continue
        [[ $r == pass ]] && r=ok
        [[ $r == fail ]] && r=FAIL
        printf '| %s | %s | %s | %s | %s |\n' "$s" "${c//|/\\|}" "${m//|/\\|}" "$b" "$r"
    done
}

report_summary() {
    local tables=() row t seen
    for row in "${ROWS[@]}"; do
        t=${row%%$'\t'*}
        seen=0
        for s in "${tables[@]}"; do [[ $s == "$t" ]] && seen=1; done
        ((seen == 1)) || tables+=("$t")
    done
    {
        printf '# Container test tier, %s, %s node(s)\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$NODE_COUNT"
        for t in "${tables[@]}"; do
            report_print "$t"
        done
        printf '\n### Timings\n\n| what | time |\n|---|---|\n'
        for row in "${TIMINGS[@]}"; do
            printf '| %s | %s |\n' "${row%%$'\t'*}" "${row#*$'\t'}"
        done
    } | tee "$RESULTS/report.md"
    local passed=0 other=0
    for row in "${ROWS[@]}"; do
        case ${row##*$'\t'} in
        pass) passed=$((passed + 1)) ;;
        fail | limit) ;;
        *) other=$((other + 1)) ;;
        esac
    done
    FINISHED=1
    printf '\n%d passed, %d failed, %d environment limits, %d skipped\n' "$passed" "$FAILED" "$LIMITED" "$other"
    if ((FAILED > 0)); then
        exit 1
    fi
}
