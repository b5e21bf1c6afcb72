# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Node loss (--nodes 3): one whole engine is stopped; every tier must keep
# serving within the topology's budgets.

nodeloss_run() {
    record "node loss" "not implemented yet" "-" "-" skip
}
