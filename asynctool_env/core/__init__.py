"""The world of the benchmark, free of any interface: tasks, tools, latency, the simulator."""
