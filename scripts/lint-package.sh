#!/usr/bin/env bash
# Checks what a consumer of the published package sees: exports, types for import and require.
set -euo pipefail
publint --strict
attw --pack . --profile node16
