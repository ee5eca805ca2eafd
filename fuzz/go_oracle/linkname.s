// Empty on purpose: an assembly file in the package lets hmap.go declare
// runtimeMapclear without a body (it is bound to runtime.mapclear by
// go:linkname).
