#!/usr/bin/env bash
# The soak (not part of the tests): 1,000 signed-in annotators, each thinking 2 to 20 s
# between actions, for 10 minutes against one release server on a throwaway PostgreSQL.
# Prints p50/p99/max of next_task and submit_annotation, the errors (there should be none),
# the server's resident memory and the PostgreSQL connections it used.
#
#   bash scripts/soak.sh [--annotators 1000] [--seconds 600] [--think-min 2] [--think-max 20]
#
# It is scripts/bench.sh running `verdict-bench soak` (same build and environment options).
exec "$(dirname "${BASH_SOURCE[0]}")/bench.sh" soak "$@"
