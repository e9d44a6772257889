/*
 * reference.c: the hand-written C yardstick of benchmarks/run.py.
 *
 * Trains a float64 multilayer perceptron by plain SGD, online (batch size 1) or
 * with mini-batches whose gradient is the mean of the per-sample gradients
 * (the last, shorter batch of an epoch averaged over its own size). Per sample:
 *
 *   forward    z_l = W_l a_{l-1} + b_l,  a_l = f_l(z_l),  a_0 = x
 *   output     squared error 1/2 sum (t - o)^2:      delta_L = (o - t) * f'(o)
 *              softmax with cross-entropy -sum t log o:  delta_L = o - t
 *   backward   for l = L .. 1: delta_{l-1} = (W_l^T delta_l) * f'(a_{l-1}),
 *              with W_l as it was before this sample, then update layer l
 *              (online: W_l -= lr delta_l a_{l-1}^T) or add its gradient to the
 *              batch sums (mini-batch: W_l -= (lr / B) sum over the batch).
 *
 * f' is written in terms of the unit's output: logistic a(1 - a), tanh 1 - a^2,
 * ReLU 1 if a > 0 else 0. exp and tanh are libm's.
 *
 * Built with -DBP_REAL=float, the same source trains in float32 (the float32
 * peer): parameters, data and every intermediate are float, and exp and tanh
 * are libm's float versions (expf, tanhf, through <tgmath.h>), as a C
 * programmer writing float code would call them. (Not bp_math.h's bp_expf:
 * the yardstick is plain C with the platform's libm, as in the double build.)
 * The files stay float64: X, Y and PARAMS0 are rounded to float once, on
 * loading, and OUT gets the trained float parameters exactly, as doubles.
 *
 * Usage: reference SPEC X Y PARAMS0 OUT [fused] [laps=N] [share=COUNTER] [wait]
 *   SPEC     the network and training options, "key value" lines (see read_spec)
 *   X, Y     inputs and targets, raw float64, row-major, one sample per row
 *   PARAMS0  initial parameters, raw float64, layer by layer: W_l (n_l x n_{l-1},
 *            row-major, W_l[j, i] the weight from unit i below to unit j), then
 *            its biases (n_l of them, or 1 when the bias is shared by the layer)
 *   OUT      where the trained parameters are written, same layout
 *   fused    online only: defer the first layer's update of sample s into the
 *            forward sweep of sample s + 1, row by row, just before that row's dot
 *            product (flushed after the last sample). Same arithmetic, so the
 *            same bits; one sweep over W_1 per sample instead of two.
 *   laps=N   train N fresh copies of the network from PARAMS0, one after the
 *            other (all set up before the clock starts); they must end with the
 *            same bits, and OUT gets them
 *   share=COUNTER  the N laps are shared out among the processes given the same
 *            COUNTER, a file holding a zero 64-bit integer: each process takes
 *            the next lap from it until all N are taken; a process that got
 *            none does not write OUT
 *   wait     once loaded, print "ready" and wait for a line on stdin before the
 *            clock starts (run.py starts two processes at once this way)
 * Prints "seconds S", the wall time of the training loop alone (clock_gettime),
 * "start T0" and "end T1", the loop's CLOCK_MONOTONIC times (comparable across
 * processes), "laps L", the laps this process trained, and "peak_rss_kib N",
 * this process's peak resident set size.
 */
#define _POSIX_C_SOURCE 200112L
#include <fcntl.h>
#include <tgmath.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BP_REAL
#define BP_REAL double
#endif
typedef BP_REAL real;

enum { LOGISTIC, TANH, RELU, SOFTMAX, IDENTITY };
static const char *const ACTIVATION_NAMES[] = {"logistic", "tanh", "relu", "softmax", "identity"};
enum { SQUARED, CROSS_ENTROPY };
enum { MAX_LAYERS = 16 };

typedef struct {
    int n_in, n_out, n_bias, act;
    real *W, *b;   /* views into the flat parameter vector */
    real *gW, *gb; /* gradient sums of the current mini-batch */
    real *a;       /* outputs of this layer for the current sample */
    real *delta;   /* dE/dz of this layer for the current sample */
} Layer;

typedef struct {
    int n_layers, sizes[MAX_LAYERS + 1], acts[MAX_LAYERS];
    int loss, shared_bias, train_bias, epochs, batch_size, n_samples;
    double lr;
} Spec;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "reference: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* 64-byte aligned, zeroed */
static real *alloc(size_t n) {
    size_t bytes = ((n * sizeof(real) + 63) / 64) * 64;
    real *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) die("out of memory", NULL);
    memset(p, 0, bytes);
    return p;
}

static void read_spec(const char *path, Spec *s) {
    FILE *f = fopen(path, "r");
    char word[32], bias[32], loss[32];
    if (!f) die("cannot open", path);
    if (fscanf(f, " layers %d", &s->n_layers) != 1 || s->n_layers < 1 || s->n_layers > MAX_LAYERS)
        die("bad 'layers' in", path);
    if (fscanf(f, " sizes") != 0) die("bad 'sizes' in", path);
    for (int l = 0; l <= s->n_layers; l++)
        if (fscanf(f, "%d", &s->sizes[l]) != 1 || s->sizes[l] < 1) die("bad 'sizes' in", path);
    if (fscanf(f, " activations") != 0) die("bad 'activations' in", path);
    for (int l = 0; l < s->n_layers; l++) {
        if (fscanf(f, "%31s", word) != 1) die("bad 'activations' in", path);
        s->acts[l] = -1;
        for (int k = 0; k <= IDENTITY; k++)
            if (!strcmp(word, ACTIVATION_NAMES[k])) s->acts[l] = k;
        if (s->acts[l] < 0) die("unknown activation", word);
    }
    if (fscanf(f, " loss %31s bias %31s train_bias %d lr %lf epochs %d batch_size %d samples %d",
               loss, bias, &s->train_bias, &s->lr, &s->epochs, &s->batch_size, &s->n_samples) != 7)
        die("bad options in", path);
    fclose(f);
    if (!strcmp(loss, "squared")) s->loss = SQUARED;
    else if (!strcmp(loss, "cross_entropy")) s->loss = CROSS_ENTROPY;
    else die("unknown loss", loss);
    if (!strcmp(bias, "neuron")) s->shared_bias = 0;
    else if (!strcmp(bias, "shared")) s->shared_bias = 1;
    else die("unknown bias", bias);
    if (s->loss == CROSS_ENTROPY && s->acts[s->n_layers - 1] != SOFTMAX)
        die("cross-entropy needs a softmax output", NULL);
    for (int l = 0; l < s->n_layers - 1; l++)
        if (s->acts[l] == SOFTMAX) die("softmax is for the output layer only", NULL);
    if (s->loss == SQUARED && s->acts[s->n_layers - 1] == SOFTMAX)
        die("squared error with a softmax output is not supported", NULL);
    if (s->batch_size < 1 || s->epochs < 0 || s->n_samples < 1) die("bad sizes in", path);
}

/* n float64 values from path, rounded to real */
static void read_f64(const char *path, real *dst, size_t n) {
    FILE *f = fopen(path, "rb");
    double v;
    if (!f) die("cannot open", path);
    for (size_t k = 0; k < n; k++) {
        if (fread(&v, sizeof v, 1, f) != 1) die("wrong size", path);
        dst[k] = (real)v;
    }
    if (fgetc(f) != EOF) die("wrong size", path);
    fclose(f);
}

/* n reals to path as float64 (exact) */
static int write_f64(const char *path, const real *src, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    for (size_t k = 0; k < n; k++) {
        double v = src[k];
        if (fwrite(&v, sizeof v, 1, f) != 1) {
            fclose(f);
            return 0;
        }
    }
    return fclose(f) == 0;
}

/* Eight partial sums (sixteen in float, one 64-byte line of them): without
   -ffast-math a compiler may not reorder one running sum, but it may vectorise
   independent ones. */
enum { PARTIALS = 64 / sizeof(real) };
static real dot(const real *restrict x, const real *restrict y, int n) {
    real s[PARTIALS] = {0};
    int i = 0;
    for (; i + PARTIALS <= n; i += PARTIALS)
        for (int k = 0; k < PARTIALS; k++) s[k] += x[i + k] * y[i + k];
    for (int k = 8; k < PARTIALS; k++) s[k - 8] += s[k];
    real r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) r += x[i] * y[i];
    return r;
}

/* a = f(z) in place: on entry L->a holds the net inputs z */
static void activate(Layer *L) {
    real *a = L->a, m, sum;
    int n = L->n_out;
    switch (L->act) {
    case LOGISTIC:
        for (int j = 0; j < n; j++) a[j] = (real)1 / ((real)1 + exp(-a[j]));
        break;
    case TANH:
        for (int j = 0; j < n; j++) a[j] = tanh(a[j]);
        break;
    case RELU:
        for (int j = 0; j < n; j++) a[j] = a[j] > 0 ? a[j] : 0;
        break;
    case SOFTMAX: /* shifted by the maximum: exp never overflows */
        m = a[0];
        for (int j = 1; j < n; j++) m = a[j] > m ? a[j] : m;
        sum = 0;
        for (int j = 0; j < n; j++) sum += (a[j] = exp(a[j] - m));
        for (int j = 0; j < n; j++) a[j] /= sum;
        break;
    }
}

/* f'(z) from a = f(z) (the softmax's Jacobian is folded into the output delta) */
static inline real derivative(int act, real a) {
    switch (act) {
    case LOGISTIC: return a * ((real)1 - a);
    case TANH: return (real)1 - a * a;
    case RELU: return a > 0 ? 1 : 0;
    default: return 1;
    }
}

/* W -= lr delta in^T; biases likewise when trained */
static void update(Layer *L, const real *restrict in, real lr, int train_bias) {
    real sum = 0;
    for (int j = 0; j < L->n_out; j++) {
        real *restrict w = L->W + (size_t)j * L->n_in;
        real g = lr * L->delta[j];
        for (int i = 0; i < L->n_in; i++) w[i] -= g * in[i];
        if (train_bias && L->n_bias > 1) L->b[j] -= g;
        sum += L->delta[j];
    }
    if (train_bias && L->n_bias == 1) L->b[0] -= lr * sum;
}

static void accumulate(Layer *L, const real *restrict in) {
    for (int j = 0; j < L->n_out; j++) {
        real *restrict g = L->gW + (size_t)j * L->n_in;
        real d = L->delta[j];
        for (int i = 0; i < L->n_in; i++) g[i] += d * in[i];
        L->gb[L->n_bias > 1 ? j : 0] += d;
    }
}

/* W -= scale * gW, then clear the sums for the next batch */
static void apply(Layer *L, real scale, int train_bias) {
    size_t n = (size_t)L->n_out * L->n_in;
    for (size_t k = 0; k < n; k++) L->W[k] -= scale * L->gW[k];
    memset(L->gW, 0, n * sizeof(real));
    if (train_bias)
        for (int j = 0; j < L->n_bias; j++) L->b[j] -= scale * L->gb[j];
    memset(L->gb, 0, L->n_bias * sizeof(real));
}

/* pending: the first layer's update of the previous sample (input x_prev) is
   still to be applied, row by row, just before each row is used (fused mode) */
static void forward(Layer *layers, int n_layers, const real *x, const real *x_prev,
                    int pending, real lr, int train_bias) {
    const real *in = x;
    for (int l = 0; l < n_layers; l++) {
        Layer *L = &layers[l];
        if (l == 0 && pending) {
            if (train_bias && L->n_bias == 1) {
                real sum = 0;
                for (int j = 0; j < L->n_out; j++) sum += L->delta[j];
                L->b[0] -= lr * sum;
            }
            for (int j = 0; j < L->n_out; j++) {
                real *restrict w = L->W + (size_t)j * L->n_in;
                real g = lr * L->delta[j];
                for (int i = 0; i < L->n_in; i++) w[i] -= g * x_prev[i];
                if (train_bias && L->n_bias > 1) L->b[j] -= g;
                L->a[j] = dot(w, in, L->n_in) + L->b[L->n_bias > 1 ? j : 0];
            }
        } else {
            for (int j = 0; j < L->n_out; j++)
                L->a[j] = dot(L->W + (size_t)j * L->n_in, in, L->n_in) + L->b[L->n_bias > 1 ? j : 0];
        }
        activate(L);
        in = L->a;
    }
}

/* online: update each layer as soon as the deltas below it are known (the first
   layer's update is left to the next forward sweep when defer_first is set);
   otherwise add this sample's gradient to the batch sums */
static void backward(Layer *layers, int n_layers, const real *x, const real *t, int loss,
                     int online, int defer_first, real lr, int train_bias) {
    Layer *top = &layers[n_layers - 1];
    for (int k = 0; k < top->n_out; k++) {
        real o = top->a[k];
        top->delta[k] = loss == CROSS_ENTROPY ? o - t[k] : (o - t[k]) * derivative(top->act, o);
    }
    for (int l = n_layers - 1; l >= 0; l--) {
        Layer *L = &layers[l];
        const real *in = l > 0 ? layers[l - 1].a : x;
        if (l > 0) {
            Layer *B = &layers[l - 1];
            for (int i = 0; i < B->n_out; i++) B->delta[i] = 0;
            for (int j = 0; j < L->n_out; j++) {
                const real *restrict w = L->W + (size_t)j * L->n_in;
                real d = L->delta[j];
                for (int i = 0; i < L->n_in; i++) B->delta[i] += w[i] * d;
            }
            for (int i = 0; i < B->n_out; i++) B->delta[i] *= derivative(B->act, B->a[i]);
        }
        if (!online) accumulate(L, in);
        else if (!(defer_first && l == 0)) update(L, in, lr, train_bias);
    }
}

/* Linux's VmHWM: getrusage's ru_maxrss also counts the peak of the process that
   exec'd this one, so it would report the launcher's size, not ours. */
static long peak_rss_kib(void) {
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld", &kib) == 1) break;
        fclose(f);
    }
    if (kib < 0) {
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        kib = usage.ru_maxrss;
    }
    return kib;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Point the layers into one flat parameter vector (and gradient vector). */
static void bind(Layer *layers, const Spec *s, real *params, real *grads) {
    size_t at = 0;
    for (int l = 0; l < s->n_layers; l++) {
        Layer *L = &layers[l];
        L->W = params + at;
        L->b = L->W + (size_t)L->n_out * L->n_in;
        L->gW = grads ? grads + at : NULL;
        L->gb = grads ? L->gW + (size_t)L->n_out * L->n_in : NULL;
        at += (size_t)L->n_out * L->n_in + L->n_bias;
    }
}

/* One training run of s->epochs epochs on the parameters the layers point to. */
static void train(Layer *layers, const Spec *s, const real *X, const real *Y, int fused) {
    int n_in = s->sizes[0], n_out = s->sizes[s->n_layers], online = s->batch_size == 1;
    int pending = 0;
    const real *x_prev = X;
    for (int epoch = 0; epoch < s->epochs; epoch++) {
        for (int first = 0; first < s->n_samples; first += s->batch_size) {
            int last = first + s->batch_size < s->n_samples ? first + s->batch_size : s->n_samples;
            for (int n = first; n < last; n++) {
                const real *x = X + (size_t)n * n_in;
                forward(layers, s->n_layers, x, x_prev, pending, s->lr, s->train_bias);
                backward(layers, s->n_layers, x, Y + (size_t)n * n_out, s->loss, online, fused,
                         s->lr, s->train_bias);
                pending = fused;
                x_prev = x;
            }
            if (!online)
                for (int l = 0; l < s->n_layers; l++)
                    apply(&layers[l], s->lr / (last - first), s->train_bias);
        }
    }
    if (pending) update(&layers[0], x_prev, s->lr, s->train_bias);
}

int main(int argc, char **argv) {
    Spec s;
    Layer layers[MAX_LAYERS];
    int fused = 0, laps = 1, wait = 0;
    const char *share = NULL;
    if (argc < 6)
        die("usage: reference SPEC X Y PARAMS0 OUT [fused] [laps=N] [share=COUNTER] [wait]", NULL);
    for (int a = 6; a < argc; a++) {
        char end;
        if (!strcmp(argv[a], "fused")) fused = 1;
        else if (!strcmp(argv[a], "wait")) wait = 1;
        else if (!strncmp(argv[a], "share=", 6) && argv[a][6]) share = argv[a] + 6;
        else if (sscanf(argv[a], "laps=%d%c", &laps, &end) != 1 || laps < 1)
            die("unknown option (expected fused, laps=N, share=COUNTER or wait)", argv[a]);
    }
    int64_t own = 0, *next = &own; /* the next lap to take */
    if (share) {
        int fd = open(share, O_RDWR);
        if (fd < 0) die("cannot open", share);
        next = mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (next == MAP_FAILED) die("cannot map", share);
        close(fd);
    }
    read_spec(argv[1], &s);
    int online = s.batch_size == 1;
    if (fused && !online) die("fused needs batch_size 1", NULL);

    int n_in = s.sizes[0], n_out = s.sizes[s.n_layers];
    size_t n_params = 0;
    for (int l = 0; l < s.n_layers; l++)
        n_params += (size_t)s.sizes[l + 1] * s.sizes[l] + (s.shared_bias ? 1 : s.sizes[l + 1]);
    real *X = alloc((size_t)s.n_samples * n_in), *Y = alloc((size_t)s.n_samples * n_out);
    real *params = alloc(n_params * laps), *grads = online ? NULL : alloc(n_params);
    read_f64(argv[2], X, (size_t)s.n_samples * n_in);
    read_f64(argv[3], Y, (size_t)s.n_samples * n_out);
    read_f64(argv[4], params, n_params);
    for (int lap = 1; lap < laps; lap++)
        memcpy(params + (size_t)lap * n_params, params, n_params * sizeof(real));

    for (int l = 0; l < s.n_layers; l++) {
        Layer *L = &layers[l];
        L->n_in = s.sizes[l];
        L->n_out = s.sizes[l + 1];
        L->n_bias = s.shared_bias ? 1 : L->n_out;
        L->act = s.acts[l];
        L->a = alloc(L->n_out);
        L->delta = alloc(L->n_out);
    }
    if (wait) {
        char line[16];
        printf("ready\n");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) die("no go-ahead on stdin", NULL);
    }

    double start = now();
    int done = 0;
    while (__atomic_fetch_add(next, 1, __ATOMIC_RELAXED) < laps) {
        bind(layers, &s, params + (size_t)done * n_params, grads);
        train(layers, &s, X, Y, fused);
        done++;
    }
    double end = now();
    for (int lap = 1; lap < done; lap++)
        if (memcmp(params + (size_t)lap * n_params, params, n_params * sizeof(real)))
            die("two laps from the same start ended with different parameters", NULL);

    if (done) {
        if (!write_f64(argv[5], params, n_params))
            die("cannot write", argv[5]);
    }
    printf("seconds %.9f\nstart %.9f\nend %.9f\nlaps %d\npeak_rss_kib %ld\n", end - start, start,
           end, done, peak_rss_kib());
    return 0;
}
