module github.com/xenactor/xenactor

go 1.26.8
