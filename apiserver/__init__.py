"""The API server: Kubernetes REST and watch semantics over a pluggable storage layer.

Mirrors k8s.io/apiserver and k8s.io/kubernetes/pkg/registry. Nothing outside this
package imports it; other components reach it over HTTP only.
"""
