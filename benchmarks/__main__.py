"""`python -m benchmarks`: run every benchmark and print its table."""
from benchmarks import bench_train

if __name__ == "__main__":
    bench_train.main()
