// Command mtls-init is the init container mtls-injector adds to every injected Linux pod: it waits (bounded)
// for the mounted workload identity and verifies it before the application starts. It does exactly what
// `mtls-injector init` (src/cli/init.ts) does, with the same exit codes, problem codes and messages, as a
// static binary that starts in about a millisecond instead of Node's ~45 ms of CPU (docs/using-mtls.md,
// "Start-up time and the init container"; docs/adr/0009-native-mtls-init.md says why and how the two are
// kept equal). Standard library only. Nothing it prints carries key material.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The contract of names shared with the TypeScript side (src/core/names.ts).
const (
	mountPath             = "/var/run/mtls"
	certFile              = "tls.crt"
	keyFile               = "tls.key"
	caFile                = "ca.crt"
	crlFile               = "ca.crl"
	envPodNamespace       = "MTLS_POD_NAMESPACE"
	envPodServiceAccount  = "MTLS_POD_SERVICE_ACCOUNT"
	envInitTrustDomain    = "MTLS_INJECTOR_TRUST_DOMAIN"
	envInitWaitTimeout    = "MTLS_INJECTOR_INIT_WAIT_TIMEOUT"
	defaultTrustDomain    = "cluster.local"
	defaultWaitTimeout    = "120s"
	maxWaitTimeoutSeconds = 3600
	pollInterval          = time.Second
)

// Exit codes of the CLI (src/cli/context.ts ExitCode).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr, time.Now))
}

// run is the whole command, with its inputs passed in so the tests can drive it.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer, now func() time.Time) int {
	// `mtls-init init …` is accepted too, so the Node image's `args: ['init']` habit cannot break it.
	if len(args) > 0 && args[0] == "init" {
		args = args[1:]
	}
	flags := flag.NewFlagSet("mtls-init", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", mountPath, "directory holding tls.crt, tls.key and ca.crt")
	namespaceFlag := flags.String("namespace", "", "the pod's namespace (default: $"+envPodNamespace+")")
	serviceAccountFlag := flags.String("service-account", "", "the pod's service account (default: $"+envPodServiceAccount+")")
	trustDomainFlag := flags.String("trust-domain", "", "SPIFFE trust domain (default: $"+envInitTrustDomain+", else "+defaultTrustDomain+")")
	waitFlag := flags.String("init-wait-timeout", "", "how long to wait for the files (default: $"+envInitWaitTimeout+", else "+defaultWaitTimeout+")")
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "error: unexpected argument %s\n", jsQuote(flags.Arg(0)))
		return exitUsage
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })

	trustDomain, waitSeconds, problems := config(lookupEnv, set, *trustDomainFlag, *waitFlag)
	if len(problems) > 0 {
		plural := "s"
		if len(problems) == 1 {
			plural = ""
		}
		fmt.Fprintf(stderr, "error: invalid configuration (%d problem%s):\n  - %s [MTLS_ERR_CONFIG_INVALID]\n", len(problems), plural, strings.Join(problems, "\n  - "))
		return exitFailure
	}
	namespace, serviceAccount := *namespaceFlag, *serviceAccountFlag
	if !set["namespace"] {
		namespace, _ = lookupEnv(envPodNamespace)
	}
	if !set["service-account"] {
		serviceAccount, _ = lookupEnv(envPodServiceAccount)
	}
	fail := func(message string) int {
		fmt.Fprintf(stderr, "mtls-init: %s\n", message)
		return exitFailure
	}
	if namespace == "" || serviceAccount == "" {
		return fail(fmt.Sprintf("the pod's namespace and service account are unknown; expected env %s and %s "+
			"(set by the webhook from the downward API) or --namespace/--service-account", envPodNamespace, envPodServiceAccount))
	}
	expected := fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", trustDomain, namespace, serviceAccount)
	deadline := now().Add(time.Duration(waitSeconds * float64(time.Second)))
	paths := []string{filepath.Join(*dir, certFile), filepath.Join(*dir, keyFile), filepath.Join(*dir, caFile)}
	waitText := formatSeconds(waitSeconds)

	// Wait for the files and for them to verify: the kubelet mounts the Secret as soon as the rotator writes
	// it, and the rotator also repairs a bad one, so only a problem that outlasts the wait is fatal. Each new
	// problem is written at once, so `kubectl logs -c mtls-init` tells why a pod waits in Init.
	told := ""
	for {
		texts, missing := readAll(paths)
		var problem string
		if len(missing) == 0 {
			at := now()
			result := verifyLeaf(texts[0], texts[1], texts[2], at, expected)
			if len(result.problems) == 0 {
				rev := revocationOf(*dir, texts[0], texts[2], at)
				if rev.problem == "" {
					for _, w := range rev.warnings {
						fmt.Fprintf(stderr, "mtls-init: warning: %s\n", w)
					}
					fmt.Fprintf(stdout, "mtls-init: identity %s verified (key matches, chain trusted, %s, valid until %s)\n",
						expected, rev.summary, isoTime(result.leaf.notAfter))
					return exitOK
				}
				problem = rev.problem
			} else {
				problem = describe(result.problems, expected, *dir)
			}
		} else {
			problem = fmt.Sprintf("%s not present after %ss; is the mtls-injector rotator running? Check its pods and `kubectl describe pod` Events",
				strings.Join(missing, ", "), waitText)
		}
		if !now().Before(deadline) || ctx.Err() != nil {
			return fail(problem)
		}
		if problem != told {
			fmt.Fprintf(stderr, "mtls-init: waiting (up to %ss): %s\n", waitText, problem)
			told = problem
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollInterval):
		}
	}
}

// revocationOf reads ca.crl beside the other files and judges the leaf by it; no ca.crl is fine (older
// releases wrote none; for pod certificates the ConfigMap projection is optional).
func revocationOf(dir, certPem, bundlePem string, now time.Time) revocation {
	crlPem, err := os.ReadFile(filepath.Join(dir, crlFile))
	if err != nil {
		return revocation{summary: "no ca.crl"}
	}
	var ignored []problem
	chain := parseAll(certPem, "tls.crt", &ignored)
	roots := parseAll(bundlePem, "ca.crt", &ignored)
	return leafRevocation(dir, string(crlPem), chain, roots, now)
}

func describe(problems []problem, expected, dir string) string {
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = fmt.Sprintf("  - %s: %s", p.code, p.message)
	}
	return fmt.Sprintf("the identity in %s is not usable for %s:\n%s\n", dir, expected, strings.Join(lines, "\n")) +
		"The rotator reissues bad certificates on its own; if this persists, delete the pod's Secret (named in its " +
		"mtls-injector.io/secret annotation) and the pod, and check `mtls-injector check -n <namespace> --pod <pod>`"
}

func readAll(paths []string) (texts, missing []string) {
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			missing = append(missing, path)
			continue
		}
		texts = append(texts, string(data))
	}
	return texts, missing
}

var (
	trustDomainRe = regexp.MustCompile(`^[a-z0-9._-]+$`)
	durationRe    = regexp.MustCompile(`^(\d+(\.\d+)?[smhd])+$`)
	durationPart  = regexp.MustCompile(`(\d+(?:\.\d+)?)([smhd])`)
	unitSeconds   = map[string]float64{"s": 1, "m": 60, "h": 3600, "d": 86400}
)

// config reads the trust domain and the wait timeout as src/config/loader.ts does for these two keys (flag,
// then env, then default), with its validation messages.
func config(lookupEnv func(string) (string, bool), set map[string]bool, trustDomainFlag, waitFlag string) (string, float64, []string) {
	var problems []string
	trustDomain, origin := defaultTrustDomain, "default"
	if v, ok := lookupEnv(envInitTrustDomain); ok {
		trustDomain, origin = v, "env "+envInitTrustDomain
	}
	if set["trust-domain"] {
		trustDomain, origin = trustDomainFlag, "flag"
	}
	if !trustDomainRe.MatchString(trustDomain) {
		problems = append(problems, fmt.Sprintf(`trustDomain (%s): expected lowercase letters, digits, ".", "-", "_", got %s`, origin, jsQuote(trustDomain)))
	}
	wait, origin := defaultWaitTimeout, "default"
	if v, ok := lookupEnv(envInitWaitTimeout); ok {
		wait, origin = v, "env "+envInitWaitTimeout
	}
	if set["init-wait-timeout"] {
		wait, origin = waitFlag, "flag"
	}
	seconds, ok := parseDurationSeconds(wait)
	if !ok || seconds < 0 || seconds > maxWaitTimeoutSeconds {
		problems = append(problems, fmt.Sprintf("init.waitTimeout (%s): expected a duration such as 90s, 15m or 24h from 0s to %ds, got %s", origin, maxWaitTimeoutSeconds, jsQuote(wait)))
	}
	return trustDomain, seconds, problems
}

// parseDurationSeconds parses `90s`, `15m`, `1h30m` or a bare number of seconds (src/config/duration.ts).
func parseDurationSeconds(text string) (float64, bool) {
	trimmed := strings.TrimSpace(text)
	if n, err := strconv.ParseUint(trimmed, 10, 64); err == nil && !strings.HasPrefix(trimmed, "+") {
		return float64(n), true
	}
	if !durationRe.MatchString(trimmed) {
		return 0, false
	}
	total := 0.0
	for _, m := range durationPart.FindAllStringSubmatch(trimmed, -1) {
		amount, _ := strconv.ParseFloat(m[1], 64)
		total += amount * unitSeconds[m[2]]
	}
	return total, true
}

// formatSeconds prints a number of seconds as JavaScript's String(number) does for these values.
func formatSeconds(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) }
