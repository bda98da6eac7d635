#!/usr/bin/env bash
# Proves the Dockerfile's recipe without a Docker engine (CI: npm run docker:check):
#   1. parse the Dockerfile: the Go stage that builds mtls-init (cmd/mtls-init), the mtls-init image's stage
#      (`FROM scratch AS mtls-init`), the Node build stage and the final stage (the product image: a build
#      without --target gives it), in the simple instruction forms used there; the mtls-init stage may hold
#      only its OCI labels (the final stage's, title mtls-init), one COPY of the binary from the Go stage, a
#      numeric non-root USER and ENTRYPOINT ["/app/bin/mtls-init"]
#   2. export a clean tree with `git archive HEAD` (REF=<commit> to pick another), drop what .dockerignore
#      excludes, and copy what each build stage's COPY lines name into an empty directory (that stage's "/")
#   3. run each build stage's RUN lines there (plain go and npm commands, with the host's Go at
#      /usr/local/go (or $GO) and the host's node and npm)
#   4. assemble the two image stages' filesystems (mtls-init and the final stage) from their COPY --from=<stage>
#      lines, each in another empty directory
#   5. check them: the final stage on a distroless nonroot base, no RUN in it (no shell there), numeric
#      non-root USER, exec-form ENTRYPOINT, not a single devDependency in the runtime node_modules,
#      /app/bin/mtls-init in both stages, a static (no ELF interpreter), stripped, -trimpath, CGO_ENABLED=0 binary
#      from a golang base that matches cmd/mtls-init/go.mod; the mtls-init stage holds that binary (the same
#      file as the final stage's) and nothing else
#   6. start it the way ENTRYPOINT does (`node <root>/app/dist/main.js --version`, then `--help`), as uid
#      65532 when running as root, from a directory with no node_modules above it; and run /app/bin/mtls-init
#      the way the webhook's `command` does, with an empty environment but the pod's, on an identity made
#      with the image's own dist/ (exit 0, "verified") and on an empty directory (exit 1, the wait message);
#      then the mtls-init image's ENTRYPOINT the same way, chrooted into that stage's root (nothing but the
#      binary and the identity) as its USER when running as root, so it is proved to need no other file
# Any failure stops the script with a message saying which step and why. KEEP=1 keeps the temp directory.
# The mtls-init stage's instructions are checked in step 1, before anything is built; PARSE_ONLY=1 stops there
# (test/release/check-dockerfile.test.ts feeds it broken Dockerfiles with DOCKERFILE=).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DOCKERFILE=${DOCKERFILE:-Dockerfile}
REF=${REF:-HEAD}

fail() { echo "check-dockerfile: FAIL: $*" >&2; exit 1; }
step() { printf '\n== check-dockerfile: %s\n' "$*"; }

WORK=$(mktemp -d /tmp/check-dockerfile.XXXXXX)
chmod 755 "$WORK"
if [[ ${KEEP:-0} == 1 ]]; then echo "check-dockerfile: keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
CTX=$WORK/context FINAL=$WORK/final-root INIT_ROOT=$WORK/mtls-init-root
mkdir -p "$CTX" "$FINAL" "$INIT_ROOT"
[[ ! -e /tmp/node_modules && ! -e /node_modules ]] || fail "a node_modules above $WORK would hide missing runtime packages"

# --- 1. parse ------------------------------------------------------------------------------------------------
# LABEL key="value" … -> key=value lines; fails on any other form.
labels_of() {
  local rest=$1
  while [[ $rest =~ ^[[:space:]]*([A-Za-z0-9._-]+)=\"([^\"]*)\"(.*)$ ]]; do
    echo "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
    rest=${BASH_REMATCH[3]}
  done
  [[ -z ${rest//[[:space:]]/} ]] || fail "unsupported LABEL form (use key=\"value\" pairs): LABEL $1"
}

step "parse $DOCKERFILE"
[[ -f $DOCKERFILE ]] || fail "$DOCKERFILE not found"
instructions=()
line_acc=''
while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ ^[[:space:]]*# && -z $line_acc ]] && continue
  if [[ $line =~ \\[[:space:]]*$ ]]; then line_acc+="${line%\\*} "; continue; fi
  line_acc+=$line
  [[ $line_acc =~ ^[[:space:]]*$ ]] || instructions+=("$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$line_acc")")
  line_acc=''
done <"$DOCKERFILE"

# Global ARGs (before the first FROM, NAME=default) may name the base images: FROM ${NAME} takes the default,
# the public image users build against (the e2e suite passes local stand-ins with --build-arg).
declare -A global_args=()
stages=() froms=() final_from="" stage_of=()
for ins in "${instructions[@]}"; do
  stage_of+=($((${#stages[@]} - 1))) # the stage each instruction belongs to (-1 before the first FROM)
  if [[ $ins =~ ^ARG[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)=([^[:space:]]+)$ ]] && ((${#stages[@]} == 0)); then
    global_args[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  elif [[ $ins =~ ^ARG ]]; then
    fail "unsupported ARG (only NAME=default before the first FROM): $ins"
  elif [[ $ins =~ ^FROM[[:space:]]+([^[:space:]]+)([[:space:]]+[Aa][Ss][[:space:]]+([^[:space:]]+))?$ ]]; then
    stages+=("${BASH_REMATCH[3]:-stage${#stages[@]}}")
    final_from=${BASH_REMATCH[1]}
    if [[ $final_from =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$ ]]; then
      [[ -n ${global_args[${BASH_REMATCH[1]}]:-} ]] || fail "FROM $final_from: no ARG ${BASH_REMATCH[1]}=default before it"
      final_from=${global_args[${BASH_REMATCH[1]}]}
    fi
    froms+=("$final_from")
  elif [[ $ins =~ ^FROM ]]; then
    fail "unsupported FROM form: $ins"
  fi
done
((${#stages[@]} == 4)) ||
  fail "expected exactly 4 stages (Go build of mtls-init, the mtls-init image, Node build, runtime), got ${#stages[@]}"
go_stage=${stages[0]} init_stage=${stages[1]} build_stage=${stages[2]}
echo "stages: ${stages[*]}; bases: ${froms[*]}"
[[ ${froms[0]} =~ ^golang:([0-9]+\.[0-9]+)(\.[0-9]+)?-bookworm$ ]] ||
  fail "the first stage builds mtls-init: its base must be golang:<go>-bookworm, got ${froms[0]}"
go_base_version=${BASH_REMATCH[1]}
[[ $init_stage == mtls-init && ${froms[1]} == scratch ]] ||
  fail "the second stage is the init container's image: it must be 'FROM scratch AS mtls-init', got FROM ${froms[1]} AS $init_stage"

# The mtls-init stage, checked before anything is built: only LABEL, one COPY of the binary from the Go stage,
# USER and ENTRYPOINT (scratch has no shell for a RUN; the kubelet gives it the pod's env, not an ENV).
INIT_BIN=/app/bin/mtls-init # the webhook's `command` for Linux pods (src/core/names.ts INIT_BINARY_PATH)
init_user='' init_entrypoint='' init_copies=0 final_labels=() init_labels=()
for i in "${!instructions[@]}"; do
  ins=${instructions[$i]} keyword=${instructions[$i]%%[[:space:]]*}
  args=${ins#"$keyword"} && args=${args#"${args%%[![:space:]]*}"}
  if ((stage_of[i] == ${#stages[@]} - 1)) && [[ $keyword == LABEL ]]; then
    parsed=$(labels_of "$args") || exit 1
    mapfile -t -O "${#final_labels[@]}" final_labels <<<"$parsed"
  fi
  if ((stage_of[i] != 1)) || [[ $keyword == FROM ]]; then continue; fi
  case $keyword in
    LABEL)
      parsed=$(labels_of "$args") || exit 1
      mapfile -t -O "${#init_labels[@]}" init_labels <<<"$parsed" ;;
    COPY)
      [[ $args =~ ^--from=${go_stage}[[:space:]]+[^[:space:]]+[[:space:]]+${INIT_BIN}$ ]] ||
        fail "the $init_stage stage copies only the binary: COPY --from=$go_stage <binary> $INIT_BIN, got: $ins"
      init_copies=$((init_copies + 1)) ;;
    USER) init_user=$args ;;
    ENTRYPOINT) init_entrypoint=$args ;;
    *) fail "the $init_stage stage may hold only LABEL, COPY of the binary, USER and ENTRYPOINT (no shell, no env), got: $ins" ;;
  esac
done
((init_copies == 1)) || fail "the $init_stage stage must COPY $INIT_BIN exactly once, got $init_copies COPY lines"
[[ $init_user =~ ^[0-9]+(:[0-9]+)?$ && ${init_user%%:*} != 0 ]] ||
  fail "the $init_stage stage's USER must be a numeric non-root uid[:gid], got '$init_user'"
init_argv=$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1])))' "$init_entrypoint" 2>/dev/null) ||
  fail "the $init_stage stage's ENTRYPOINT must be exec form (JSON array), got: $init_entrypoint"
[[ $init_argv == "[\"$INIT_BIN\"]" ]] ||
  fail "the $init_stage stage's ENTRYPOINT must be exactly [\"$INIT_BIN\"] (the webhook's command), got $init_argv"
# The same OCI labels as the product image's, but for the title.
declare -A want_labels=()
for l in "${final_labels[@]}"; do want_labels[${l%%=*}]=${l#*=}; done
want_labels[org.opencontainers.image.title]=$init_stage
for l in "${init_labels[@]}"; do
  [[ -v "want_labels[${l%%=*}]" && ${want_labels[${l%%=*}]} == "${l#*=}" ]] ||
    fail "the $init_stage stage's label ${l%%=*}=\"${l#*=}\": expected \"${want_labels[${l%%=*}]:-(no such label in the final stage)}\""
done
((${#init_labels[@]} == ${#want_labels[@]})) ||
  fail "the $init_stage stage has ${#init_labels[@]} labels, the final stage ${#final_labels[@]}: give it the same OCI labels (title $init_stage)"
echo "$init_stage: FROM scratch, COPY --from=$go_stage of $INIT_BIN only, USER $init_user, ENTRYPOINT $init_argv, ${#init_labels[@]} OCI labels (title $init_stage)"
[[ ${PARSE_ONLY:-0} != 1 ]] || { echo "check-dockerfile: parse OK (PARSE_ONLY=1: nothing built)"; exit 0; }
declare -A stage_root=()
for i in 0 2; do stage_root[${stages[$i]}]=$WORK/stage-$i-root && mkdir -p "${stage_root[${stages[$i]}]}"; done
[[ $final_from =~ ^gcr\.io/distroless/nodejs[0-9]+-debian[0-9]+:nonroot$ ]] ||
  fail "runtime base must be gcr.io/distroless/nodejs<LTS>-debian<N>:nonroot (no shell, non-root), got $final_from"

# --- 2-4. replay the stages ------------------------------------------------------------------------------------
step "export $REF with git archive"
git -C "$REPO" archive --format=tar "$REF" | tar -x -C "$CTX"
# .dockerignore, in the whitelist form this repo uses ("*" then "!path" lines); anything else is rejected.
if [[ -f $CTX/.dockerignore ]]; then
  mapfile -t ignore < <(grep -vE '^[[:space:]]*(#|$)' "$CTX/.dockerignore")
  [[ ${ignore[0]:-} == '*' ]] || fail ".dockerignore must start with '*' (whitelist form) for this check"
  keep=()
  for p in "${ignore[@]:1}"; do
    [[ $p == '!'* ]] || fail ".dockerignore: only '!path' lines may follow '*', got: $p"
    keep+=("${p#!}")
  done
  filtered=$WORK/context-filtered
  mkdir -p "$filtered"
  for k in "${keep[@]}"; do
    k=${k%/}
    [[ -e $CTX/$k ]] || fail ".dockerignore keeps $k, which is not in $REF"
    mkdir -p "$filtered/$(dirname "$k")"
    cp -a "$CTX/$k" "$filtered/$k"
  done
  rm -rf "$CTX" && mv "$filtered" "$CTX"
  echo "context after .dockerignore: $(cd "$CTX" && find . -type f | wc -l) files (${keep[*]})"
fi

# path_in ROOT WORKDIR PATH -> absolute host path of PATH inside a stage rooted at ROOT.
path_in() {
  local root=$1 wd=$2 p=$3
  [[ $p == /* ]] || p="$wd/$p"
  echo "$root$(realpath -m --no-symlinks "$p")"
}

# copy_into SRC DEST_HOST DEST_SPEC: Docker COPY semantics for one source (directory contents, or a file into
# a directory when DEST ends with / or has several sources).
copy_into() {
  local src=$1 dest=$2 spec=$3 many=$4
  [[ -e $src ]] || fail "COPY source ${src#"$WORK"/} does not exist"
  if [[ -d $src ]]; then
    mkdir -p "$dest" && cp -a "$src/." "$dest/"
  elif [[ $spec == */ || $many == 1 ]]; then
    mkdir -p "$dest" && cp -a "$src" "$dest/"
  else
    mkdir -p "$(dirname "$dest")" && cp -a "$src" "$dest"
  fi
}

# The host's Go runs the Go stage (GOTOOLCHAIN=local: never download another toolchain).
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
last=$((${#stages[@]} - 1)) init=1
stage=-1 wd=/ build_wd=/ user='' entrypoint='' runtime_env=() stage_env=() final_runs=0 root=''
# An image stage (mtls-init, the final one) is assembled from the build stages, never run.
is_image() { ((stage == init || stage == last)); }
for ins in "${instructions[@]}"; do
  keyword=${ins%%[[:space:]]*}
  args=${ins#"$keyword"}
  args=${args#"${args%%[![:space:]]*}"}
  case ${keyword^^} in
    FROM)
      stage=$((stage + 1)) wd=/ stage_env=()
      if ((stage == init)); then root=$INIT_ROOT
      elif ((stage == last)); then root=$FINAL
      else root=${stage_root[${stages[$stage]}]}; fi ;;
    ARG) ((stage < 0)) || fail "ARG inside a stage is not replayed: $ins" ;;
    WORKDIR)
      wd=$(realpath -m --no-symlinks "$([[ $args == /* ]] && echo "$args" || echo "$wd/$args")")
      mkdir -p "$root$wd"
      [[ ${stages[$stage]} != "$build_stage" ]] || build_wd=$wd ;;
    ENV)
      [[ $args =~ ^[A-Za-z_][A-Za-z0-9_]*=[^[:space:]]*$ ]] || fail "unsupported ENV form (use KEY=value): $ins"
      if ((stage < last)); then stage_env+=("$args"); else runtime_env+=("$args"); fi ;;
    LABEL | EXPOSE) ;;
    USER)
      is_image || fail "USER in a build stage is not replayed: $ins"
      ((stage == init)) || user=$args ;;
    ENTRYPOINT)
      is_image || fail "ENTRYPOINT belongs in an image stage ($init_stage or the final one)"
      ((stage == init)) || entrypoint=$args ;;
    COPY)
      read -r -a parts <<<"$args"
      from=''
      if [[ ${parts[0]} == --from=* ]]; then from=${parts[0]#--from=}; parts=("${parts[@]:1}"); fi
      [[ ${parts[0]} != --* ]] || fail "unsupported COPY flag: $ins"
      ((${#parts[@]} >= 2)) || fail "COPY needs a source and a destination: $ins"
      dest_spec=${parts[-1]} many=0
      ((${#parts[@]} > 2)) && many=1
      if ! is_image; then
        [[ -z $from ]] || fail "COPY --from in a build stage is not supported: $ins"
      elif ((stage == init)); then
        [[ $from == "$go_stage" ]] || fail "the $init_stage stage copies only from $go_stage (the binary): $ins"
      else
        [[ -n $from && -n ${stage_root[$from]:-} ]] ||
          fail "final-stage COPY must come --from one of the build stages ($go_stage $build_stage): $ins"
      fi
      dest=$(path_in "$root" "$wd" "$dest_spec")
      for src in "${parts[@]:0:${#parts[@]}-1}"; do
        if ! is_image; then copy_into "$CTX/$src" "$dest" "$dest_spec" "$many"
        else copy_into "$(path_in "${stage_root[$from]}" / "$src")" "$dest" "$dest_spec" "$many"; fi
      done
      echo "COPY ${from:+(from $from) }${parts[*]}" ;;
    RUN)
      if ((stage == last)); then final_runs=$((final_runs + 1)); continue; fi
      [[ $args != \[* ]] || fail "exec-form RUN is not supported here: $ins"
      if [[ ${stages[$stage]} == "$go_stage" ]]; then
        [[ -x $GO ]] || fail "no Go toolchain to replay the $go_stage stage (install Go into /usr/local/go or set GO=)"
        echo "RUN $args   (in ${wd}, $("$GO" version))"
        (cd "$root$wd" && env PATH="$(dirname "$GO"):$PATH" GOTOOLCHAIN=local GOFLAGS= "${stage_env[@]}" \
          bash -euo pipefail -c "$args") || fail "build step failed: RUN $args"
      else
        echo "RUN $args   (in ${wd}, node $(node --version), npm $(npm --version))"
        (cd "$root$wd" && env "${stage_env[@]}" bash -euo pipefail -c "$args") ||
          fail "build step failed: RUN $args"
      fi
      ;;
    *) fail "unsupported instruction (extend scripts/check-dockerfile.sh): $ins" ;;
  esac
done

# --- 5. check the runtime layout --------------------------------------------------------------------------------
step "check the runtime stage"
((final_runs == 0)) || fail "the final stage has RUN lines, but the distroless base has no shell to run them"
[[ $user =~ ^[0-9]+(:[0-9]+)?$ && ${user%%:*} != 0 ]] || fail "USER must be a numeric non-root uid[:gid], got '$user'"
[[ $entrypoint == \[* ]] || fail "ENTRYPOINT must be exec form (JSON array), got: $entrypoint"
mapfile -t argv < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$entrypoint")
[[ ${argv[0]} == /nodejs/bin/node ]] || fail "ENTRYPOINT must start with the distroless node, /nodejs/bin/node"
main=${argv[1]:-}
[[ -f $FINAL$main ]] || fail "ENTRYPOINT runs $main, which the final stage does not contain"
mapfile -t dev < <(node -e 'console.log(Object.keys(require(process.argv[1]).devDependencies ?? {}).join("\n"))' \
  "$CTX/package.json")
# A devDependency may still be present when a production dependency needs it too (npm ls finds it then).
leaked=() shared=()
build_dir=${stage_root[$build_stage]}$build_wd
for d in "${dev[@]}"; do
  [[ -n $d && -e $FINAL$wd/node_modules/$d ]] || continue
  if [[ -n $(cd "$build_dir" && npm ls "$d" --omit=dev --all --parseable 2>/dev/null) ]]; then shared+=("$d")
  else leaked+=("$d"); fi
done
((${#leaked[@]} == 0)) || fail "devDependencies in the runtime node_modules: ${leaked[*]}"
echo "USER $user; ENTRYPOINT $entrypoint; WORKDIR $wd; runtime size $(du -sh "$FINAL" | cut -f1)"

# mtls-init (INIT_BIN, above), the webhook's `command` for Linux pods: a static Go binary.
[[ -f $FINAL$INIT_BIN && -x $FINAL$INIT_BIN ]] || fail "the final stage has no executable $INIT_BIN (COPY it --from=$go_stage)"
go_mod_version=$(sed -n 's/^go \([0-9]*\.[0-9]*\).*/\1/p' "$CTX/cmd/mtls-init/go.mod")
[[ $go_mod_version == "$go_base_version" ]] ||
  fail "the $go_stage base is Go $go_base_version but cmd/mtls-init/go.mod says go $go_mod_version; keep them equal"
# Static: an ELF with no PT_INTERP (3) or PT_DYNAMIC (2) program header needs no loader and no libc; stripped
# (-s -w): no .symtab section.
elf=$(node -e '
  const b = require("fs").readFileSync(process.argv[1]);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) { console.log("not a 64-bit ELF"); process.exit(0); }
  const off = Number(b.readBigUInt64LE(0x20)), size = b.readUInt16LE(0x36), n = b.readUInt16LE(0x38);
  const types = Array.from({ length: n }, (_, i) => b.readUInt32LE(off + i * size));
  const linking = types.includes(3) ? "dynamic (PT_INTERP)" : types.includes(2) ? "dynamic (PT_DYNAMIC)" : "static";
  const shoff = Number(b.readBigUInt64LE(0x28)), shsize = b.readUInt16LE(0x3a), shnum = b.readUInt16LE(0x3c);
  const strtab = shoff + b.readUInt16LE(0x3e) * shsize, names = Number(b.readBigUInt64LE(strtab + 0x18));
  const sections = Array.from({ length: shnum }, (_, i) => {
    const at = names + b.readUInt32LE(shoff + i * shsize);
    return b.subarray(at, b.indexOf(0, at)).toString();
  });
  console.log(linking, sections.includes(".symtab") ? "unstripped" : "stripped");
' "$FINAL$INIT_BIN")
[[ $elf == "static stripped" ]] ||
  fail "$INIT_BIN is $elf; build it with CGO_ENABLED=0 (it runs on a distroless base) and -ldflags='-s -w'"
build_info=$("$GO" version -m "$FINAL$INIT_BIN") || fail "go version -m $INIT_BIN failed: not a Go binary?"
# (-trimpath keeps -ldflags out of the build info; the stripping is proved from the sections above.)
for want in 'CGO_ENABLED=0' '-trimpath=true' 'path	github.com/mtls-injector/mtls-injector/cmd/mtls-init'; do
  grep -qF -- "$want" <<<"$build_info" || fail "$INIT_BIN was not built with $want (go version -m):\n$build_info"
done
echo "$INIT_BIN: static ELF, $(du -h "$FINAL$INIT_BIN" | cut -f1), $(head -1 <<<"$build_info" | cut -d' ' -f2-), CGO_ENABLED=0, -trimpath, -s -w"
echo "${#dev[@]} devDependencies, none in the image${shared[*]:+ except as dependencies of production packages: ${shared[*]}}"

step "check the $init_stage stage (the init container's image)"
# Only the binary: no other file, link or device, and no directory but the ones on its path.
contents=$(cd "$INIT_ROOT" && find . -mindepth 1 | sort | tr '\n' ' ')
[[ $contents == "./app ./app/bin .$INIT_BIN " ]] ||
  fail "the $init_stage stage must hold $INIT_BIN and nothing else, got: $contents"
[[ -x $INIT_ROOT$INIT_BIN ]] || fail "$INIT_BIN in the $init_stage stage is not executable"
cmp -s "$INIT_ROOT$INIT_BIN" "$FINAL$INIT_BIN" ||
  fail "$INIT_BIN differs between the $init_stage stage and the final stage (both must come from $go_stage)"
echo "$init_stage: $INIT_BIN alone ($(du -h "$INIT_ROOT$INIT_BIN" | cut -f1), the same file as the final stage's); USER $init_user, ENTRYPOINT $init_argv"

# --- 6. start it -----------------------------------------------------------------------------------------------
step "start it the way ENTRYPOINT does"
chmod -R a+rX "$FINAL"
run_as=()
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  # By absolute path: start() runs it under env -i with PATH holding only node's directory (.tools/node-24/bin in CI).
  run_as=("$(command -v setpriv)" --reuid="${user%%:*}" --regid="${user#*:}" --clear-groups)
fi
start() {
  (cd "$FINAL$wd" && env -i PATH="$(dirname "$(command -v node)")" HOME=/nonexistent "${runtime_env[@]}" \
    "${run_as[@]}" node "$FINAL$main" "${argv[@]:2}" "$@")
}
version=$(start --version) || fail "'mtls-injector --version' failed"
want=$(node -p 'require(process.argv[1]).version' "$CTX/package.json")
[[ $version == "$want" ]] || fail "--version printed '$version', expected '$want'"
echo "\$ mtls-injector --version   (${run_as[*]:+as uid ${user%%:*}, }cwd $wd)"
echo "$version"
help=$(start --help) || fail "'mtls-injector --help' failed"
grep -q 'Usage: mtls-injector' <<<"$help" || fail "--help printed no usage:\n$help"
echo "\$ mtls-injector --help"
echo "$help"

# mtls-init as the kubelet runs it: the pod's env only (no PATH, no HOME), as the image's USER.
mtls=$WORK/mtls-files
mkdir -p "$mtls"
(cd "$FINAL/app" && node --input-type=module -e '
  import { writeFileSync } from "node:fs";
  const { generateRootCa } = await import(process.cwd() + "/dist/pki/ca.js");
  const { issueLeaf } = await import(process.cwd() + "/dist/pki/issue.js");
  const now = new Date(), dir = process.argv[1];
  const ca = generateRootCa({ keyAlgorithm: "ecdsa-p256", trustDomain: "cluster.local", lifetimeSeconds: 86400, now });
  const leaf = issueLeaf(ca, { spiffeId: "spiffe://cluster.local/ns/check/sa/web", keyAlgorithm: "ecdsa-p256", lifetimeSeconds: 3600, backdateSeconds: 60, now });
  writeFileSync(dir + "/tls.crt", leaf.certPem);
  writeFileSync(dir + "/tls.key", leaf.keyPem);
  writeFileSync(dir + "/ca.crt", ca.trustBundlePem);
' "$mtls") || fail "could not make a test identity with the image's dist/pki"
chmod -R a+rX "$mtls"
init_env=(MTLS_POD_NAMESPACE=check MTLS_POD_SERVICE_ACCOUNT=web MTLS_INJECTOR_TRUST_DOMAIN=cluster.local)
ok=$(env -i "${init_env[@]}" MTLS_INJECTOR_INIT_WAIT_TIMEOUT=0s "${run_as[@]}" "$FINAL$INIT_BIN" --dir "$mtls" 2>&1) ||
  fail "$INIT_BIN refused a good identity:\n$ok"
grep -q '^mtls-init: identity spiffe://cluster.local/ns/check/sa/web verified' <<<"$ok" ||
  fail "$INIT_BIN printed no success line:\n$ok"
echo "\$ $INIT_BIN --dir <good identity>   (${run_as[*]:+as uid ${user%%:*}, }env: the pod's only)"
echo "$ok"
mkdir -p "$WORK/mtls-empty" && chmod 755 "$WORK/mtls-empty"
if missing=$(env -i "${init_env[@]}" MTLS_INJECTOR_INIT_WAIT_TIMEOUT=0s "${run_as[@]}" "$FINAL$INIT_BIN" --dir "$WORK/mtls-empty" 2>&1); then
  fail "$INIT_BIN accepted an empty directory:\n$missing"
fi
grep -q 'not present after 0s; is the mtls-injector rotator running' <<<"$missing" ||
  fail "$INIT_BIN failed on an empty directory without the wait message:\n$missing"
echo "\$ $INIT_BIN --dir <empty>   (exit 1)"
echo "$missing"

# The mtls-init image's ENTRYPOINT in a root holding only that stage's files and the pod's volume: chroot
# proves it opens nothing else (no /etc/passwd, /tmp, CA files or zoneinfo). Without root, it runs in place.
step "start the $init_stage image the way its ENTRYPOINT does"
run_root=$WORK/mtls-init-run
cp -a "$INIT_ROOT" "$run_root" && mkdir -p "$run_root/var/run" && cp -a "$mtls" "$run_root/var/run/mtls"
mkdir -p "$run_root/var/run/mtls-empty" && chmod 755 "$run_root/var/run/mtls-empty"
in_init() { # DIR (inside the image root): mtls-init as the kubelet starts the image
  if [[ $(id -u) == 0 ]]; then
    env -i "${init_env[@]}" MTLS_INJECTOR_INIT_WAIT_TIMEOUT=0s "$(command -v chroot)" --userspec="$init_user" \
      "$run_root" "$INIT_BIN" --dir "$1"
  else
    env -i "${init_env[@]}" MTLS_INJECTOR_INIT_WAIT_TIMEOUT=0s "$run_root$INIT_BIN" --dir "$run_root$1"
  fi
}
how="$([[ $(id -u) == 0 ]] && echo "chroot into the $init_stage root, as uid ${init_user%%:*}" || echo "not root: in place, no chroot")"
ok=$(in_init /var/run/mtls 2>&1) || fail "the $init_stage image refused a good identity ($how):\n$ok"
grep -q '^mtls-init: identity spiffe://cluster.local/ns/check/sa/web verified' <<<"$ok" ||
  fail "the $init_stage image printed no success line ($how):\n$ok"
echo "\$ $INIT_BIN --dir /var/run/mtls   ($how; env: the pod's only)"
echo "$ok"
if missing=$(in_init /var/run/mtls-empty 2>&1); then fail "the $init_stage image accepted an empty directory:\n$missing"; fi
grep -q 'not present after 0s; is the mtls-injector rotator running' <<<"$missing" ||
  fail "the $init_stage image failed on an empty directory without the wait message ($how):\n$missing"
echo "\$ $INIT_BIN --dir /var/run/mtls-empty   (exit 1)"
echo "$missing"
echo
echo "check-dockerfile: OK: the image recipe builds from $REF: the product image starts with production dependencies only, the $init_stage image is its binary alone"
