module github.com/mtls-injector/mtls-injector/cmd/mtls-init

go 1.26
