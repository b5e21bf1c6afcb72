# shellcheck shell=bash
# Environment limits of this machine: failures the tier can reproduce but
# production does not have, each with the defect note that measured it
# (docs/containers.md). A failing row that matches one is recorded as
# "limit" with the reason, printed in every table and counted apart; it
# does not fail the run. Everything else that fails, fails the run. Keep
# this list short and exact: a limit hides a result.

# env_limit SCENARIO CHECK: prints the reason when the failure of this row,
# on this target, is an environment limit; fails otherwise.
env_limit() {
    local scenario=$1
    # D1 + D8: no IPVS here, so the tier runs the stack with endpoint-mode
    # dnsrr (a VIP routes nowhere). With dnsrr a stopped Redis master's
    # name stops resolving, Docker 20.10's embedded DNS sends no answer on
    # the internal data network, and every Sentinel stalls on the lookup
    # (TILT) instead of failing over. Production keeps endpoint-mode vip
    # (IPVS): the name keeps resolving. Compose is not affected (fixed
    # addresses) and is gated on Redis failover.
    if [[ $TARGET == swarm && ${FACT[endpoint_mode_localized]:-0} == 1 ]]; then
        case $scenario in
        "failover-test.sh --redis" | "drill redis-failover")
            printf '%s' "environment: no IPVS, so dnsrr; Sentinel stalls on the stopped master's name (D1, D8; production: vip)"
            return 0
            ;;
        esac
    fi
    return 1
}
