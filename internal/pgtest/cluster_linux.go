package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is a throw-away PostgreSQL: the one shared by a test binary, or
// a test's own (NewCluster).
type cluster struct {
	dir  string   // temporary folder: data/, the socket, the log
	url  *url.URL // superuser connection to the postgres database
	pid  int      // the postmaster; 0 while stopped
	done chan error

	// What a restart on the same port needs.
	bin, data string
	cred      *syscall.Credential
	password  string
	port      int
}

// installHint ends every error that means "PostgreSQL is not usable here".
const installHint = "run scripts/deps.sh (it installs Debian's postgresql), or set " + EnvVar +
	" to a postgres:// URL of a server to use (or to skip, to skip these tests)"

// binDir returns the newest /usr/lib/postgresql/N/bin holding a server.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	type v struct {
		n   int
		dir string
	}
	var found []v
	for _, d := range dirs {
		n, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "postgres")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		found = append(found, v{n, d})
	}
	if len(found) == 0 {
		return "", fmt.Errorf("PostgreSQL server not installed (no /usr/lib/postgresql/*/bin/postgres): %s", installHint)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].n > found[j].n })
	return found[0].dir, nil
}

const dirPrefix = "postern-pgtest-"

func startCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	removeStale(os.TempDir())

	// initdb refuses to run as root: run the server as postgres then.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and there is no postgres user to run the server as (%v): %s", err, installHint)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}

	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*cluster, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// The owner's pid lets a later test binary remove this folder if this
	// one is killed before Main can.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fail(err)
	}
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	password := hex.EncodeToString(pw[:])
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if cred != nil {
		for _, p := range []string{dir, pwfile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fail(err)
			}
		}
	}

	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"--pgdata="+data, "--username=postgres", "--pwfile="+pwfile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
		"--locale-provider=icu", "--icu-locale=und",
		"--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	_ = os.Remove(pwfile)

	// A free port can be taken between our probe and the server's bind:
	// try again on another one then.
	c := &cluster{dir: dir, bin: bin, data: data, cred: cred, password: password}
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return fail(err)
		}
		bindErr, err := c.launch()
		if err == nil {
			return c, nil
		}
		if !bindErr || attempt == 4 {
			return fail(err)
		}
	}
}

// launch starts the postmaster on c.port and waits until it accepts
// connections. bindErr reports that it could not bind its port.
func (c *cluster) launch() (bindErr bool, err error) {
	bin, dir, data, cred, password, port := c.bin, c.dir, c.data, c.cred, c.password, c.port
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return false, err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir,
		// Test-only settings: speed over durability.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group (a terminal's ^C goes to the test binary, which
	// stops the server in order); SIGQUIT (immediate shutdown: the
	// postmaster ends its backends and exits) when the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}

	// The parent-death signal fires when the thread that forked the child
	// exits, not the process; so fork from a thread locked for as long as
	// the server runs.
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return false, fmt.Errorf("start postgres: %v", err)
	}
	u := &url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	c.url, c.pid, c.done = u, cmd.Process.Pid, done

	// Ready when a connection succeeds; failed when the process exits.
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(cctx, u.String())
		ccancel()
		if err == nil {
			conn.Close(context.Background())
			return false, nil
		}
		select {
		case werr := <-done:
			log, _ := os.ReadFile(logPath)
			bind := bytes.Contains(log, []byte("could not bind")) || bytes.Contains(log, []byte("Address already in use"))
			c.pid = 0
			return bind, fmt.Errorf("postgres exited before accepting connections (%v):\n%s", werr, log)
		case <-ctx.Done():
			_ = syscall.Kill(-c.pid, syscall.SIGKILL)
			<-done
			c.pid = 0
			log, _ := os.ReadFile(logPath)
			return false, fmt.Errorf("postgres did not accept connections within %v (last error: %v):\n%s", hangGuard, strings.ReplaceAll(err.Error(), password, "xxxxx"), log)
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stop shuts the server down and removes its folder.
func (c *cluster) stop() error {
	err := c.halt()
	if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// halt shuts the server down (fast shutdown: SIGINT; the backends end
// their sessions with admin_shutdown) and waits until it has exited.
func (c *cluster) halt() error {
	if c.pid == 0 {
		return nil
	}
	_ = c.resume() // if paused
	_ = syscall.Kill(c.pid, syscall.SIGINT)
	var err error
	select {
	case <-c.done:
	case <-time.After(hangGuard):
		_ = syscall.Kill(-c.pid, syscall.SIGKILL)
		<-c.done
		err = errors.New("fast shutdown did not finish; killed the process group")
	}
	c.pid = 0
	return err
}

// restart starts the stopped server again on its port.
func (c *cluster) restart() error {
	if c.pid != 0 {
		return errors.New("the server is running")
	}
	_, err := c.launch()
	return err
}

// pause stops the postmaster and then every process it forked (each
// backend calls setsid, so they are not in its process group): first the
// postmaster, and once the kernel shows it stopped (it can fork no more),
// its children.
func (c *cluster) pause() error {
	if c.pid == 0 {
		return errors.New("the server is stopped")
	}
	if err := syscall.Kill(c.pid, syscall.SIGSTOP); err != nil {
		return err
	}
	deadline := time.Now().Add(hangGuard)
	for state(c.pid) != 'T' {
		if time.Now().After(deadline) {
			return errors.New("the postmaster did not stop")
		}
		time.Sleep(time.Millisecond) // polling /proc for the stop
	}
	for _, pid := range children(c.pid) {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	return nil
}

// resume continues what pause stopped: the children, then the postmaster.
func (c *cluster) resume() error {
	if c.pid == 0 {
		return errors.New("the server is stopped")
	}
	for _, pid := range children(c.pid) {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	return syscall.Kill(c.pid, syscall.SIGCONT)
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _ := statFields(p); ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// state is the process state letter of /proc/pid/stat (0 if unknown).
func state(pid int) byte {
	_, st := statFields(pid)
	return st
}

// statFields reads the parent pid and state of /proc/pid/stat.
func statFields(pid int) (ppid int, state byte) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 {
		return 0, 0
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0]
}

// removeStale removes the folders of throw-away clusters whose test binary
// and postmaster are both gone (a test binary killed before Main ended).
func removeStale(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, d := range dirs {
		owner, err := readPid(filepath.Join(d, "owner.pid"))
		if err != nil || alive(owner) {
			continue
		}
		if pm, err := readPid(filepath.Join(d, "data", "postmaster.pid")); err == nil && alive(pm) {
			continue
		}
		_ = os.RemoveAll(d)
	}
}

// readPid reads the number on the first line of a pid file.
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}
