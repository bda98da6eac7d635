// Command pause is the e2e node's pod sandbox image (containerd's sandbox_image) and the image of test pods
// that only need to exist: it blocks until SIGINT or SIGTERM and exits 0, reaping children meanwhile (it is
// PID 1 of the pod when the pod shares its process namespace), like registry.k8s.io/pause. With the one
// argument `exit` it exits 0 at once: the trivial init container of bench/pod-startup.mjs, which separates the
// cost of any init container on this runtime from mtls-init's own.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "exit" {
		return
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s == syscall.SIGCHLD {
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
