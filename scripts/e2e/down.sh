#!/usr/bin/env bash
# npm run e2e:down — stop everything up.sh started (control plane and product) and remove .e2e/.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/control-plane.sh" down
