module gomap/gomap-go-bench

go 1.19
