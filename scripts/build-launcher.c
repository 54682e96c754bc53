/*
 * herald launcher: the `herald` entry point where `deno compile` could not
 * be completed (no denort for the target on the build host). It runs the
 * bundle beside it with the deno runtime beside it:
 *
 *   DIR/herald ARGS...  ->  DIR/deno run --allow-all --no-config ... DIR/herald.js ARGS...
 *
 * DIR is the launcher's real directory (symlinks resolved), so
 * /usr/local/bin/herald -> /usr/local/lib/herald/herald works. It is a
 * static executable, not a shell script, because the container image has
 * no shell. scripts/build compiles it with `cc -static`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The launcher's own path: /proc/self/exe, or argv[0] where /proc is not mounted. */
static int self_path(const char *argv0, char *out) {
  ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);
  if (n > 0) {
    out[n] = '\0';
    return 0;
  }
  if (strchr(argv0, '/') != NULL && realpath(argv0, out) != NULL) return 0;
  return -1;
}

int main(int argc, char **argv) {
  static const char *const flags[] = {
    "run", "--allow-all", "--no-config", "--no-lock", "--no-remote", "--no-npm", "--quiet",
  };
  const int nflags = (int)(sizeof flags / sizeof flags[0]);
  char self[PATH_MAX], deno[PATH_MAX], bundle[PATH_MAX];

  if (self_path(argv[0], self) != 0) {
    fprintf(stderr, "herald: Cannot find the launcher's own path: %s\n", strerror(errno));
    return 127;
  }
  *strrchr(self, '/') = '\0';
  if (snprintf(deno, sizeof deno, "%s/deno", self) >= (int)sizeof deno ||
      snprintf(bundle, sizeof bundle, "%s/herald.js", self) >= (int)sizeof bundle) {
    fprintf(stderr, "herald: Cannot run from \"%s\": path too long\n", self);
    return 127;
  }

  char **args = calloc((size_t)argc + (size_t)nflags + 2, sizeof *args);
  if (args == NULL) return 127;
  int i = 0;
  args[i++] = deno;
  for (int f = 0; f < nflags; f++) args[i++] = (char *)flags[f];
  args[i++] = bundle;
  for (int a = 1; a < argc; a++) args[i++] = argv[a];
  args[i] = NULL;

  /* The runtime is herald's, not a development tool: no update notices. */
  setenv("DENO_NO_UPDATE_CHECK", "1", 1);
  execv(deno, args);
  fprintf(stderr, "herald: Cannot run \"%s\": %s\n", deno, strerror(errno));
  return 127;
}
