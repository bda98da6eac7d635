# shellcheck shell=bash
# The cluster PKI and kubeconfigs (openssl, EC P-256), in .e2e/pki. Source it after lib.sh and load_sandbox.
#   gen_pki                  CA, serving certificates of the API server and the kubelet, a client certificate
#                            per component, the service-account signing key pair
#   kubeconfig FILE USER     a kubeconfig for USER's client certificate (certs embedded, so any client can use
#                            the file alone), pointing at the API server on the node address

PKI="$E2E_DIR/pki"

# cert NAME SUBJ EXT  -> $PKI/NAME.{key,crt} signed by the cluster CA
cert() {
  local name=$1 subj=$2 ext=$3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
    -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -out "$PKI/$name.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
  rm -f "$PKI/$name.csr"
}

gen_pki() {
  mkdir -p "$PKI" && chmod 700 "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=mtls-injector-e2e-ca" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  local server="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  cert apiserver "/CN=kube-apiserver" "$server
subjectAltName=IP:$NODE_IP,IP:$SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # The kubelet's serving certificate, for the address the API server dials (InternalIP).
  cert kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" "$server
subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
  cert admin "/O=system:masters/CN=e2e-admin" "$client"
  cert kube-controller-manager "/CN=system:kube-controller-manager" "$client"
  cert kube-scheduler "/CN=system:kube-scheduler" "$client"
  cert kube-proxy "/CN=system:kube-proxy" "$client"
  # The kubelet's client identity: the Node authorizer and NodeRestriction key on system:node:<name>.
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
  # The API server's client certificate for the kubelet API (logs, exec), authorized by the kubelet's webhook.
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
}

kubeconfig() {
  local file=$1 user=$2 b64='base64 -w0'
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://$NODE_IP:6443
    certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $($b64 <"$PKI/$user.crt")
    client-key-data: $($b64 <"$PKI/$user.key")
contexts:
- name: e2e
  context: {cluster: e2e, user: $user, namespace: default}
current-context: e2e
EOF
  chmod 600 "$file"
}
