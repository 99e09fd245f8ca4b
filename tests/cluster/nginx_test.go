package cluster

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern/postern/internal/modroot"
	"github.com/postern/postern/internal/s3test"
)

// nginx is a running nginx (Debian's) with deploy/nginx/postern.conf in
// front of the cluster's nodes.
type nginx struct {
	URL  string // http://127.0.0.1:PORT
	Addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	upstreamServer = regexp.MustCompile(`(?m)^(\s*)server\s+\S+(\s+max_fails=.*;)\s*$`)
	listenLine     = regexp.MustCompile(`(?m)^(\s*)listen\s+80;\s*$`)
)

// renderNginx rewrites the shipped configuration for this machine: the
// upstream's server lines become one per address (with the shipped
// parameters), the listen line listen. Everything else is used as shipped.
func renderNginx(t *testing.T, conf string, addrs []string, listen string) string {
	t.Helper()
	servers := upstreamServer.FindAllStringSubmatchIndex(conf, -1)
	if len(servers) == 0 {
		t.Fatal("deploy/nginx/postern.conf: no upstream server lines (server ADDR max_fails=…;)")
	}
	first := upstreamServer.FindStringSubmatch(conf)
	var lines []string
	for _, a := range addrs {
		lines = append(lines, first[1]+"server "+a+first[2])
	}
	out := conf[:servers[0][0]] + strings.Join(lines, "\n") + conf[servers[len(servers)-1][1]:]
	if !listenLine.MatchString(out) {
		t.Fatal("deploy/nginx/postern.conf: no `listen 80;` line")
	}
	return listenLine.ReplaceAllString(out, "${1}listen "+listen+";")
}

// startNginx runs nginx in front of addrs until the test ends: its own
// prefix, pid file, logs and temporary folders in a fresh folder, in the
// foreground (daemon off), as a non-root user (nobody when the tests run as
// root; it never switches users then).
func startNginx(t *testing.T, addrs []string) *nginx {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Fatal("nginx not installed: run scripts/deps.sh (it installs nginx-light)")
		}
		bin = "/usr/sbin/nginx"
	}
	shipped, err := os.ReadFile(filepath.Join(modroot.Dir(t), "deploy", "nginx", "postern.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is private to root, and nginx runs as
	// nobody.
	dir, err := os.MkdirTemp("", "postern-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := freePort(t)
	n := &nginx{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, done: make(chan struct{})}
	n.URL = "http://" + n.Addr
	site := renderNginx(t, string(shipped), addrs, n.Addr)
	mainConf := `# written by tests/cluster
worker_processes 1;
pid ` + filepath.Join(dir, "nginx.pid") + `;
error_log ` + filepath.Join(dir, "error.log") + ` warn;
events { worker_connections 1024; }
http {
    access_log ` + filepath.Join(dir, "access.log") + `;
    client_body_temp_path ` + filepath.Join(dir, "client_body") + `;
    proxy_temp_path ` + filepath.Join(dir, "proxy") + `;
    fastcgi_temp_path ` + filepath.Join(dir, "fastcgi") + `;
    uwsgi_temp_path ` + filepath.Join(dir, "uwsgi") + `;
    scgi_temp_path ` + filepath.Join(dir, "scgi") + `;
    include ` + filepath.Join(dir, "postern.conf") + `;
}
`
	for name, body := range map[string]string{"nginx.conf": mainConf, "postern.conf": site} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root and no user nobody to run nginx as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	n.cmd = exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	out, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
		}
		n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGQUIT) // graceful: finish requests, exit
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error log:\n%s%s", stderr.String(), log)
		}
	})
	// Ready when a node answers through it.
	c := &http.Client{Timeout: 5 * time.Second}
	waitFor(t, "nginx serving /health/ready", 30*time.Second, func() bool {
		select {
		case <-n.done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited:\n%s%s", stderr.String(), log)
		default:
		}
		resp, err := c.Get(n.URL + "/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return n
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Through nginx (deploy/nginx/postern.conf in front of the three nodes):
// aws-sdk-go-v2 and aws CLI round trips, presigned GET and PUT signed for
// nginx's address, a URL presigned against node A sent through nginx; then
// with node B killed, requests still succeed through nginx.
func TestNginx(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		var addrs []string
		for _, n := range c.nodes {
			addrs = append(addrs, n.Addr)
		}
		ng := startNginx(t, addrs)
		// The SDK signs for nginx's host:port; its default retries, as
		// a real client has.
		lb := s3test.Client(c.nodes[0], s3test.Options{Endpoint: ng.URL})
		bucket := s3test.NewBucket(t, lb, "nginx")

		// SDK round trip: a large body streams through both ways.
		big := s3test.RandBytes(20, 24<<20+5)
		s3test.Put(t, lb, bucket, "big.bin", big)
		got, _ := get(t, lb, bucket, "big.bin")
		sameBytes(t, "24 MiB through nginx", got, big)
		got, _ = get(t, c.s3[2], bucket, "big.bin")
		sameBytes(t, "24 MiB written through nginx, read on C", got, big)

		// aws CLI round trip (multipart upload: the CLI splits at 8 MiB).
		src := filepath.Join(t.TempDir(), "cli.bin")
		cliBody := s3test.RandBytes(21, 17<<20)
		if err := os.WriteFile(src, cliBody, 0o600); err != nil {
			t.Fatal(err)
		}
		env := s3test.CLIEnv(c.nodes[0])
		if out, err := awsCLI(t, ng.URL, env, "s3", "cp", src, "s3://"+bucket+"/cli.bin"); err != nil {
			t.Fatalf("aws s3 cp up through nginx: %v\n%s", err, out)
		}
		dst := filepath.Join(t.TempDir(), "back.bin")
		if out, err := awsCLI(t, ng.URL, env, "s3", "cp", "s3://"+bucket+"/cli.bin", dst); err != nil {
			t.Fatalf("aws s3 cp down through nginx: %v\n%s", err, out)
		}
		back, _ := os.ReadFile(dst)
		sameBytes(t, "aws CLI round trip through nginx", back, cliBody)
		if out, err := awsCLI(t, ng.URL, env, "s3", "ls", "s3://"+bucket); err != nil || !strings.Contains(out, "cli.bin") || !strings.Contains(out, "big.bin") {
			t.Fatalf("aws s3 ls through nginx: %v\n%s", err, out)
		}

		// Presigned for nginx's address: GET and PUT with curl.
		getURL := presign(t, lb, http.MethodGet, bucket, "big.bin")
		status, body := curl(t, getURL)
		if status != 200 {
			t.Fatalf("presigned GET through nginx: %d %s", status, s3test.ShortBody(body, 300))
		}
		sameBytes(t, "presigned GET through nginx", body, big)
		putBody := s3test.RandBytes(22, 300<<10)
		putSrc := filepath.Join(t.TempDir(), "put.bin")
		os.WriteFile(putSrc, putBody, 0o600)
		putURL := presign(t, lb, http.MethodPut, bucket, "presigned-put.bin")
		if status, body := curl(t, "-T", putSrc, putURL); status != 200 {
			t.Fatalf("presigned PUT through nginx: %d %s", status, body)
		}
		got, _ = get(t, c.s3[1], bucket, "presigned-put.bin")
		sameBytes(t, "presigned PUT through nginx, read on B", got, putBody)

		// A URL presigned against node A, sent to nginx (Host kept).
		aURL := presign(t, c.s3[0], http.MethodGet, bucket, "presigned-put.bin")
		status, body = curl(t, "--connect-to", connectTo(t, aURL, ng.Addr), aURL)
		if status != 200 {
			t.Fatalf("URL presigned against A, through nginx: %d %s", status, body)
		}
		sameBytes(t, "URL presigned against A, through nginx", body, putBody)

		// Kill node B: nginx passes requests that fail to connect to
		// another node, so plain GETs (no client retry) keep
		// succeeding; PUTs succeed too (the SDK retries the rare one
		// whose body was streaming to B when it died).
		c.nodes[1].Kill()
		plain := &http.Client{Timeout: 60 * time.Second}
		for i := 0; i < 30; i++ {
			resp, err := plain.Get(getURL)
			if err != nil {
				t.Fatalf("GET %d through nginx with B dead: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET %d through nginx with B dead: %d %s", i, resp.StatusCode, s3test.ShortBody(b, 300))
			}
			sameBytes(t, "GET through nginx with B dead", b, big)
		}
		for i := 0; i < 10; i++ {
			key := fmt.Sprintf("after-kill/%d", i)
			v := s3test.RandBytes(uint64(100+i), 70<<10+i)
			s3test.Put(t, lb, bucket, key, v)
			got, _ := get(t, lb, bucket, key)
			sameBytes(t, "PUT/GET through nginx with B dead", got, v)
		}
		if out, err := awsCLI(t, ng.URL, env, "s3", "ls", "s3://"+bucket+"/after-kill/"); err != nil || strings.Count(out, "\n") != 10 {
			t.Fatalf("aws s3 ls through nginx with B dead: %v\n%s", err, out)
		}
	})
}
