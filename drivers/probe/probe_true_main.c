/* hk-probe-true: the trivial program hk probe starts with posix_spawn. */
int main(void) { return 0; }
