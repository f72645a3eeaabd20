// Command testcluster runs a real, single-process Kubernetes control plane for OTelGuard's e2e tests:
// an embedded etcd (go.etcd.io/etcd/server/v3/embed) and the real kube-apiserver
// (k8s.io/kubernetes/cmd/kube-apiserver/app), listening on loopback only, with RBAC authorization,
// service-account token signing and an admin client certificate (group system:masters). Unless
// disabled, it also runs the real kube-controller-manager (garbage collector, namespace, service
// account, root CA publisher and cluster-role aggregation controllers) as a child process of itself.
//
//	testcluster --data-dir DIR [--port 6443] [--kubeconfig PATH] [-- extra kube-apiserver flags]
//	testcluster controller-manager [kube-controller-manager flags]   (used internally)
//
// SIGTERM/SIGINT shut everything down cleanly; a second signal exits at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

// defaultControllers are the kube-controller-manager controllers that matter without nodes or a
// scheduler: owner-reference garbage collection, namespace deletion, the per-namespace "default"
// ServiceAccount (needed by the ServiceAccount admission plugin for Pods), the kube-root-ca.crt
// ConfigMap, and aggregated ClusterRoles (aggregate-to-admin/edit/view labels).
var defaultControllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
}

type options struct {
	dataDir          string
	port             int
	etcdClientPort   int
	etcdPeerPort     int
	kubeconfig       string
	serviceCIDR      string
	controllerMgr    bool
	controllers      string
	verbosity        int
	readyTimeout     time.Duration
	extraAPIServer   []string
	etcdQuotaBytes   int64
	apiserverLogFile string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "controller-manager" {
		os.Exit(runControllerManager(os.Args[2:]))
	}
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcluster:", err)
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "testcluster:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("testcluster", flag.ContinueOnError)
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for etcd data, certificates and keys (required)")
	fs.IntVar(&o.port, "port", 6443, "kube-apiserver secure port on 127.0.0.1 (0 = pick a free port)")
	fs.IntVar(&o.etcdClientPort, "etcd-client-port", 0, "embedded etcd client port on 127.0.0.1 (0 = pick a free port)")
	fs.IntVar(&o.etcdPeerPort, "etcd-peer-port", 0, "embedded etcd peer port on 127.0.0.1 (0 = pick a free port)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "where to write the admin kubeconfig (default DATA_DIR/kubeconfig)")
	fs.StringVar(&o.serviceCIDR, "service-cluster-ip-range", "10.96.0.0/16", "Service ClusterIP range (allocation only, nothing routes it)")
	fs.BoolVar(&o.controllerMgr, "controller-manager", true, "also run kube-controller-manager (as a child process)")
	fs.StringVar(&o.controllers, "controllers", strings.Join(defaultControllers, ","), "kube-controller-manager --controllers value")
	fs.IntVar(&o.verbosity, "v", 0, "klog verbosity for kube-apiserver and kube-controller-manager")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 3*time.Minute, "how long to wait for /readyz")
	fs.Int64Var(&o.etcdQuotaBytes, "etcd-quota-bytes", 2<<30, "etcd backend quota in bytes")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.extraAPIServer = fs.Args()
	if o.dataDir == "" {
		return nil, errors.New("--data-dir is required")
	}
	abs, err := filepath.Abs(o.dataDir)
	if err != nil {
		return nil, err
	}
	o.dataDir = abs
	if o.kubeconfig == "" {
		o.kubeconfig = filepath.Join(o.dataDir, "kubeconfig")
	}
	return o, nil
}

func run(o *options) error {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return err
	}
	var err error
	for _, p := range []*int{&o.port, &o.etcdClientPort, &o.etcdPeerPort} {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return err
			}
		}
	}
	_, svcNet, err := net.ParseCIDR(o.serviceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cluster-ip-range: %w", err)
	}
	pki, err := ensurePKI(filepath.Join(o.dataDir, "pki"), firstIP(svcNet))
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}

	// NewAPIServerCommand installs the process' SIGTERM/SIGINT handler; its context is cancelled on
	// the first signal, which shuts down the apiserver and, after it, everything else.
	apiCmd := apiserverapp.NewAPIServerCommand()
	ctx := apiCmd.Context()

	etcdLogLevel := zap.NewAtomicLevelAt(zap.WarnLevel)
	etcd, err := startEtcd(ctx, o, etcdLogLevel)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer func() {
		// Closing embedded etcd logs its listeners' "use of closed network connection" as errors.
		etcdLogLevel.SetLevel(zap.FatalLevel)
		etcd.Close()
		logf("etcd stopped")
	}()

	args := apiserverArgs(o, pki)
	apiCmd.SetArgs(args)
	apiErr := make(chan error, 1)
	go func() { apiErr <- apiCmd.Execute() }()

	server := fmt.Sprintf("https://127.0.0.1:%d", o.port)
	if err := waitReady(ctx, server, pki, o.readyTimeout, apiErr); err != nil {
		return err
	}
	if err := writeKubeconfig(o.kubeconfig, server, pki); err != nil {
		return err
	}
	// A second kubeconfig with the same identity for the controller manager, so that tests may
	// freely rewrite the one they were given.
	kcmKubeconfig := filepath.Join(o.dataDir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, server, pki); err != nil {
		return err
	}

	var kcmWG sync.WaitGroup
	if o.controllerMgr {
		kcmWG.Add(1)
		go func() {
			defer kcmWG.Done()
			superviseControllerManager(ctx, o, pki, kcmKubeconfig)
		}()
	}
	logf("ready: server=%s kubeconfig=%s etcd=http://127.0.0.1:%d", server, o.kubeconfig, o.etcdClientPort)

	err = <-apiErr
	kcmWG.Wait()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	logf("kube-apiserver stopped")
	return nil
}

func apiserverArgs(o *options, pki *pkiFiles) []string {
	args := []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(o.port),
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", o.etcdClientPort),
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--client-ca-file=" + pki.caCert,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.saPub,
		"--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=" + o.serviceCIDR,
		// Loopback addresses are not valid Endpoints; nothing routes the kubernetes Service anyway.
		"--endpoint-reconciler-type=none",
		// Keep it light: no API priority & fairness bookkeeping, no profiling endpoints.
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--allow-privileged=true",
		"--event-ttl=1h",
		"--v=" + strconv.Itoa(o.verbosity),
	}
	if !o.controllerMgr {
		// Without the service-account controller no "default" ServiceAccount appears in new
		// namespaces, and the ServiceAccount admission plugin would then reject every Pod.
		args = append(args, "--disable-admission-plugins=ServiceAccount")
	}
	return append(args, o.extraAPIServer...)
}

func startEtcd(ctx context.Context, o *options, level zap.AtomicLevel) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "testcluster"
	cfg.Dir = filepath.Join(o.dataDir, "etcd")
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", o.etcdClientPort)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", o.etcdPeerPort)}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	zcfg := zap.NewProductionConfig()
	zcfg.Level = level
	zcfg.OutputPaths = []string{"stderr"}
	zcfg.ErrorOutputPaths = []string{"stderr"}
	lg, err := zcfg.Build()
	if err != nil {
		return nil, err
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	// A throwaway test store: durability across power loss does not matter, speed does.
	cfg.UnsafeNoFsync = true
	cfg.QuotaBackendBytes = o.etcdQuotaBytes
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		logf("etcd ready on %s", clientURL.String())
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("etcd did not become ready within 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
}

// superviseControllerManager runs "testcluster controller-manager ..." until ctx is done,
// restarting it (with a pause) if it exits on its own.
func superviseControllerManager(ctx context.Context, o *options, pki *pkiFiles, kubeconfig string) {
	// /proc/self/exe is this very binary even if build.sh has replaced the file since we started.
	self := "/proc/self/exe"
	if _, err := os.Stat(self); err != nil {
		if self, err = os.Executable(); err != nil {
			logf("controller-manager: cannot find own executable: %v", err)
			return
		}
	}
	logPath := filepath.Join(o.dataDir, "controller-manager.log")
	args := []string{
		"controller-manager",
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--controllers=" + o.controllers,
		"--root-ca-file=" + pki.caCert,
		"--service-account-private-key-file=" + pki.saKey,
		"--use-service-account-credentials=false",
		"--secure-port=0",
		"--profiling=false",
		"--v=" + strconv.Itoa(o.verbosity),
	}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := runChild(ctx, self, args, logPath)
		if ctx.Err() != nil {
			return
		}
		logf("controller-manager exited (%v), see %s; restarting in 2s", err, logPath)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

func runChild(ctx context.Context, path string, args []string, logPath string) error {
	// Pdeathsig is delivered when the *thread* that started the child exits, so keep this
	// goroutine on one thread for the child's lifetime.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	logf("starting controller-manager (log: %s)", logPath)
	return cmd.Run()
}

func runControllerManager(args []string) int {
	cmd := kcmapp.NewControllerManagerCommand()
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "controller-manager:", err)
		return 1
	}
	return 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func firstIP(n *net.IPNet) net.IP {
	ip := make(net.IP, len(n.IP))
	copy(ip, n.IP)
	ip[len(ip)-1]++
	return ip
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "testcluster: "+format+"\n", a...)
}
