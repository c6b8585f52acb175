package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"
)

// There is no container engine where the tests run, so the deployment
// files are checked for what matters by reading them: the Dockerfile with
// BuildKit's own parser, compose.yaml with a YAML parser, the systemd unit
// line by line. Every OWNKEY_ variable they set must be a setting ownkey
// knows (the settings table).

// dockerInstruction is one instruction of the Dockerfile as BuildKit's
// parser reads it: its name (upper case), flags (--from=build), arguments,
// and whether it was written in JSON (exec) form.
type dockerInstruction struct {
	name  string
	flags []string
	args  []string
	json  bool
}

// dockerStage is one stage: FROM's image and stage name, and what follows.
type dockerStage struct {
	base, name string
	body       []dockerInstruction
}

// parseDockerfile reads the Dockerfile with BuildKit's own parser (the
// parser package only: its instructions package would bring in a dozen
// more modules for what the AST already says).
func parseDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("BuildKit cannot parse the Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("BuildKit warns: %s", w.Short)
	}
	var stages []dockerStage
	for _, n := range res.AST.Children {
		in := dockerInstruction{name: strings.ToUpper(n.Value), flags: n.Flags, json: n.Attributes["json"]}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		switch {
		case in.name == "FROM":
			st := dockerStage{base: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				st.name = in.args[2]
			}
			stages = append(stages, st)
		case len(stages) > 0:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return stages
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stage(s): want a build stage and a minimal final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// The build: a static binary of ./cmd/ownkey.
	var goBuild string
	for _, in := range build.body {
		if in.name == "RUN" && strings.Contains(strings.Join(in.args, " "), "go build") {
			goBuild = strings.Join(in.args, " ")
		}
	}
	if !strings.Contains(goBuild, "CGO_ENABLED=0") || !strings.Contains(goBuild, "./cmd/ownkey") || !strings.Contains(goBuild, "-o /out/ownkey") {
		t.Fatalf("the build stage's go build is not a static build of ./cmd/ownkey to /out/ownkey: %q", goBuild)
	}
	for _, v := range []string{"main.version=${VERSION}", "main.commit=${COMMIT}"} {
		if !strings.Contains(goBuild, v) {
			t.Errorf("go build does not link %s", v)
		}
	}

	// The final stage: a minimal base with CA certificates, the binary,
	// a non-root user, the data volume, a health check without a shell.
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static") && final.base != "scratch" {
		t.Errorf("final base %q: want distroless static (or scratch)", final.base)
	}
	var user, entry string
	var volumes, copies, health []string
	env := map[string]string{}
	for _, in := range final.body {
		switch in.name {
		case "USER":
			user = in.args[0]
		case "VOLUME":
			volumes = append(volumes, in.args...)
		case "ENV":
			for i := 0; i+1 < len(in.args); i += 3 { // key, value, "="
				env[in.args[i]] = in.args[i+1]
			}
		case "HEALTHCHECK":
			if in.json {
				health = in.args
			}
		case "ENTRYPOINT":
			if in.json {
				entry = strings.Join(in.args, " ")
			}
		case "COPY":
			if slices.Contains(in.flags, "--from="+build.name) {
				copies = append(copies, strings.Join(in.args, " -> "))
			}
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if user == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the final stage must run as a non-root user", user)
	}
	if !slices.Contains(copies, "/out/ownkey -> /usr/local/bin/ownkey") || entry != "/usr/local/bin/ownkey" {
		t.Errorf("the binary is not copied to and run from /usr/local/bin/ownkey: copies %v, entrypoint %q", copies, entry)
	}
	if env["OWNKEY_DATA_DIR"] == "" || !slices.Contains(volumes, env["OWNKEY_DATA_DIR"]) {
		t.Errorf("OWNKEY_DATA_DIR %q is not a VOLUME (%v)", env["OWNKEY_DATA_DIR"], volumes)
	}
	if !strings.HasPrefix(env["OWNKEY_ADDR"], "0.0.0.0:") {
		t.Errorf("OWNKEY_ADDR %q: in a container ownkey must listen on every interface", env["OWNKEY_ADDR"])
	}
	// Exec form (JSON, CMD): distroless has no shell for CMD-SHELL.
	if !slices.Equal(health, []string{"CMD", "/usr/local/bin/ownkey", "healthcheck"}) {
		t.Errorf("HEALTHCHECK %v: want the binary's own healthcheck in exec form", health)
	}
	for k := range env {
		if strings.HasPrefix(k, "OWNKEY_") && lookupSetting(k) == nil {
			t.Errorf("the Dockerfile sets %s, which ownkey does not read", k)
		}
	}
	// .dockerignore keeps the local data directory (keys!) out of the
	// build context.
	ignore, _ := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if !regexp.MustCompile(`(?m)^ownkey-data$`).Match(ignore) || !regexp.MustCompile(`(?m)^\.git$`).Match(ignore) {
		t.Errorf(".dockerignore does not leave out ownkey-data and .git:\n%s", ignore)
	}
}

// TestStaticBuild builds ownkey as the Dockerfile does (CGO_ENABLED=0) and
// checks that the result is a static executable (no ELF interpreter, no
// shared libraries), which the distroless static image can run, and that
// the HEALTHCHECK's command and the linked version work.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ownkey again")
	}
	bin := filepath.Join(t.TempDir(), "ownkey")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -X main.version=v0.0.0-test -X main.commit=c0ffee", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("the binary is dynamically linked (program header %v)", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary needs %v", libs)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ownkey v0.0.0-test\ncommit c0ffee\n") {
		t.Fatalf("--version of the static build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "healthcheck", "--help").CombinedOutput(); err != nil {
		t.Fatalf("the HEALTHCHECK's command: %v\n%s", err, out)
	}
}

// composeFile is the part of compose.yaml the test reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Command     []string          `yaml:"command"`
		// DependsOn is a list of names or a map of conditions.
		DependsOn   yaml.Node `yaml:"depends_on"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	// The database.
	var pg string
	for name, s := range c.Services {
		if strings.HasPrefix(s.Image, "postgres:") {
			pg = name
		}
	}
	if pg == "" {
		t.Fatal("no PostgreSQL service")
	}
	if h := c.Services[pg].Healthcheck; h == nil || !slices.Contains(h.Test, "pg_isready") {
		t.Errorf("the PostgreSQL service has no pg_isready health check: %+v", h)
	}
	// The replicas: every service built from this repository.
	var replicas []string
	for name, s := range c.Services {
		if s.Build == "." || strings.HasPrefix(s.Image, "ownkey") {
			replicas = append(replicas, name)
		}
	}
	slices.Sort(replicas)
	if len(replicas) != 2 {
		t.Fatalf("ownkey services %v: want two replicas", replicas)
	}
	dbURL := regexp.MustCompile(`^postgres(ql)?://[^@]+@` + regexp.QuoteMeta(pg) + `:5432/`)
	first := c.Services[replicas[0]]
	dataVolumes := map[string]bool{}
	for _, name := range replicas {
		s := c.Services[name]
		if !dbURL.MatchString(s.Environment["OWNKEY_DATABASE_URL"]) {
			t.Errorf("%s: OWNKEY_DATABASE_URL %q does not point at the %s service", name, s.Environment["OWNKEY_DATABASE_URL"], pg)
		}
		// One database, one master key: a replica with another key
		// refuses to start.
		for _, k := range []string{"OWNKEY_DATABASE_URL", "OWNKEY_MASTER_KEY"} {
			if s.Environment[k] == "" || s.Environment[k] != first.Environment[k] {
				t.Errorf("%s: %s differs from %s's or is empty", name, k, replicas[0])
			}
		}
		var deps map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := s.DependsOn.Decode(&deps); err != nil || deps[pg].Condition != "service_healthy" {
			t.Errorf("%s does not wait for %s to be healthy", name, pg)
		}
		// Each replica's own data volume (its usage spill and billing
		// journal), at the image's data directory.
		var vol string
		for _, v := range s.Volumes {
			if src, dst, ok := strings.Cut(v, ":"); ok && dst == "/data" {
				vol = src
			}
		}
		if vol == "" || dataVolumes[vol] {
			t.Errorf("%s: data volume %q missing or shared with another replica", name, vol)
		}
		dataVolumes[vol] = true
		if _, ok := c.Volumes[vol]; !ok {
			t.Errorf("%s: volume %q is not declared", name, vol)
		}
		for k := range s.Environment {
			if strings.HasPrefix(k, "OWNKEY_") && lookupSetting(k) == nil {
				t.Errorf("%s sets %s, which ownkey does not read", name, k)
			}
		}
	}
	// The load balancer sends to both.
	lb, ok := c.Services["lb"]
	if !ok {
		t.Fatal("no lb service in front of the replicas")
	}
	for _, name := range replicas {
		if !slices.Contains(lb.Command, name+":8080") {
			t.Errorf("the load balancer does not send to %s: %v", name, lb.Command)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy", "ownkey.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit := map[string][]string{} // "Section.Key" -> values in order
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("not a key=value line: %q", line)
			}
			unit[section+"."+k] = append(unit[section+"."+k], v)
		}
	}
	one := func(key string) string {
		if v := unit[key]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	if !strings.HasSuffix(one("Service.ExecStart"), "/ownkey serve") {
		t.Errorf("ExecStart=%q", one("Service.ExecStart"))
	}
	if u := one("Service.User"); one("Service.DynamicUser") != "yes" && (u == "" || u == "root" || u == "0") {
		t.Error("the service runs as root: want User= of its own or DynamicUser=yes")
	}
	for key, want := range map[string]string{
		"Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict", "Service.ProtectHome": "yes",
		"Service.PrivateTmp": "yes", "Service.PrivateDevices": "yes", "Service.StateDirectory": "ownkey",
		"Service.CapabilityBoundingSet": "", "Service.RestrictSUIDSGID": "yes", "Service.ProtectKernelTunables": "yes",
		"Service.ProtectKernelModules": "yes", "Service.ProtectControlGroups": "yes", "Service.RestrictNamespaces": "yes",
		"Service.LockPersonality": "yes", "Service.SystemCallArchitectures": "native", "Service.UMask": "0077",
		"Service.KillSignal": "SIGTERM", "Service.Restart": "on-failure", "Install.WantedBy": "multi-user.target",
	} {
		if _, ok := unit[key]; !ok || one(key) != want {
			t.Errorf("%s=%q, want %q", key, one(key), want)
		}
	}
	if !slices.Contains(unit["Service.SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter %v: want @system-service", unit["Service.SystemCallFilter"])
	}
	// Go raises its open-file limit with setrlimit (@resources): a filter
	// that denied it would kill the process at start.
	for _, v := range unit["Service.SystemCallFilter"] {
		if strings.Contains(v, "@resources") {
			t.Errorf("SystemCallFilter=%s denies what the Go runtime does at start", v)
		}
	}
	// The data directory is the state directory, the only writable place
	// under ProtectSystem=strict.
	env := map[string]string{}
	for _, e := range unit["Service.Environment"] {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
		if strings.HasPrefix(k, "OWNKEY_") && lookupSetting(k) == nil {
			t.Errorf("the unit sets %s, which ownkey does not read", k)
		}
	}
	if d := env["OWNKEY_DATA_DIR"]; d != "/var/lib/"+one("Service.StateDirectory") && d != "%S/"+one("Service.StateDirectory") {
		t.Errorf("OWNKEY_DATA_DIR=%q is not the state directory %q", d, one("Service.StateDirectory"))
	}
	// SIGTERM's drain (OWNKEY_SHUTDOWN_TIMEOUT, 30s) fits in the stop timeout.
	if d, err := time.ParseDuration(one("Service.TimeoutStopSec")); err != nil || d <= 30*time.Second {
		t.Errorf("TimeoutStopSec=%q: want more than the 30s shutdown drain", one("Service.TimeoutStopSec"))
	}
}
