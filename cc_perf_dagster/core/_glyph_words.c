/* The pdfium engine's word loop in C: cc_perf_dagster.core.pdfium.page_words, line for line.
 *
 * The Python loop in pdfium.py is the reference and the fallback (this module is built when a C
 * compiler is there, see pyproject.toml); test_glyph_words.py reads every page of the test
 * invoices and the producer corpus with both and asks for the same words, to the last bit.
 *
 * It calls PDFium's public functions through the addresses of pypdfium2.raw's bindings (passed
 * in, so the library and its version stay pypdfium2's; no PDFium header is needed) and makes no
 * call that Python's loop does not make, in the same order. The characters' texts stay in
 * Python: the caller passes one kind per character (0: a glyph, 1: no text or a space) and
 * joins each word's characters itself from the (start, end) indices returned.
 *
 * words(handle, functions, kinds, constants) -> list of tuples
 *     (start, end, sx, sy, ex, ey, ux, uy, up, height, hidden), or None where a glyph's origin
 *     is off its text object's baseline (pdfium._OutsidePageSpace).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct { float left, top, right, bottom; } RectF;         /* FS_RECTF */
typedef struct { float a, b, c, d, e, f; } MatrixF;                /* FS_MATRIX */

typedef int (*IsGenerated)(void *, int);
typedef void *(*GetTextObject)(void *, int);
typedef int (*GetCharOrigin)(void *, int, double *, double *);
typedef int (*GetLooseCharBox)(void *, int, RectF *);
typedef double (*GetFontSize)(void *, int);
typedef int (*GetMatrix)(void *, int, MatrixF *);
typedef int (*GetRenderMode)(void *);

typedef struct {
    IsGenerated is_generated;
    GetTextObject get_text_object;
    GetCharOrigin get_char_origin;
    GetLooseCharBox get_loose_char_box;
    GetFontSize get_font_size;
    GetMatrix get_matrix;
    GetRenderMode get_render_mode;
} Api;

typedef struct {
    double touch_gap, overlap_limit, baseline_shift, ligature_bearing, no_area;
} Constants;

/* A text object's shape (pdfium._Shape); equal shapes share one id, as Python's shapes dict
 * makes equal tuples one object ("is"). Id 0 is _UPRIGHT, id 1 is _NO_AREA. */
typedef struct {
    double ux, uy, up, height, low, high, shift;
} Shape;

typedef struct {
    Shape *items;
    Py_ssize_t count, capacity;
} Shapes;

enum { UPRIGHT = 0, NO_AREA = 1, OUTSIDE = -1, NO_MEMORY = -2 };

/* text object -> (shape id, invisible): Python's geometry and invisible dicts. */
typedef struct {
    uintptr_t *keys;
    int *shape;
    char *invisible, *used;
    size_t mask;
    int null_shape;
    char null_invisible, null_used;
} Objects;

static Shape with_ranges(const Constants *k, double ux, double uy, double up, double height) {
    Shape s = {ux, uy, up, height, k->overlap_limit * height, k->touch_gap * height, k->baseline_shift * height};
    return s;
}

static int shape_id(Shapes *shapes, Shape s) {
    for (Py_ssize_t i = 2; i < shapes->count; i++) {
        Shape *t = &shapes->items[i];
        if (t->ux == s.ux && t->uy == s.uy && t->up == s.up && t->height == s.height && t->low == s.low &&
            t->high == s.high && t->shift == s.shift)
            return (int)i;
    }
    if (shapes->count == shapes->capacity) {
        Py_ssize_t capacity = shapes->capacity * 2;
        Shape *items = realloc(shapes->items, (size_t)capacity * sizeof(Shape));
        if (items == NULL)
            return NO_MEMORY;
        shapes->items = items;
        shapes->capacity = capacity;
    }
    shapes->items[shapes->count] = s;
    return (int)shapes->count++;
}

/* pdfium._shape: the shape of the text object of glyph `index` at origin (ox, oy). */
static int object_shape(const Api *api, const Constants *k, Shapes *shapes, void *handle, int index, double ox,
                        double oy) {
    double size = api->get_font_size(handle, index);
    double a, b, c, d;
    MatrixF m;
    if (api->get_matrix(handle, index, &m)) {
        a = m.a, b = m.b, c = m.c, d = m.d;
        double dx = ox - (double)m.e, dy = oy - (double)m.f;
        if (fabs(dx * b - dy * a) > 1e-3 * (fabs(a) + fabs(b)) || dx * a + dy * b < -1e-3 * (fabs(a) + fabs(b)))
            return OUTSIDE;
    } else {
        a = 1.0, b = 0.0, c = 0.0, d = 1.0;
    }
    if (fabs((a * d - b * c) * size * size) < k->no_area)
        return NO_AREA;
    double length = hypot(a, b);
    if (length == 0.0)
        length = 1.0;
    return shape_id(shapes, with_ranges(k, a / length, b / length, a * d - b * c, fabs(size) * hypot(c, d)));
}

static int objects_find(Objects *o, uintptr_t key, int *shape, char *invisible) {
    if (key == 0) {
        *shape = o->null_shape, *invisible = o->null_invisible;
        return o->null_used;
    }
    for (size_t i = (size_t)(key >> 4) & o->mask;; i = (i + 1) & o->mask) {
        if (!o->used[i])
            return 0;
        if (o->keys[i] == key) {
            *shape = o->shape[i], *invisible = o->invisible[i];
            return 1;
        }
    }
}

static void objects_add(Objects *o, uintptr_t key, int shape, char invisible) {
    if (key == 0) {
        o->null_shape = shape, o->null_invisible = invisible, o->null_used = 1;
        return;
    }
    size_t i = (size_t)(key >> 4) & o->mask;
    while (o->used[i])
        i = (i + 1) & o->mask;
    o->used[i] = 1, o->keys[i] = key, o->shape[i] = shape, o->invisible[i] = invisible;
}

typedef struct {
    PyObject *list;
    Py_ssize_t start, end; /* the word: characters [start, end); start < 0 when there is none */
    double sx, sy, ex, ey;
    Shape *shape;
    char hidden;
} Word;

static int emit(Word *w) {
    PyObject *item = Py_BuildValue("(nnddddddddi)", w->start, w->end, w->sx, w->sy, w->ex, w->ey, w->shape->ux,
                                   w->shape->uy, w->shape->up, w->shape->height, (int)w->hidden);
    if (item == NULL)
        return -1;
    int failed = PyList_Append(w->list, item);
    Py_DECREF(item);
    w->start = -1;
    return failed;
}

static PyObject *run(const Api *api, const Constants *k, void *handle, const unsigned char *kinds, Py_ssize_t count,
                     Shapes *shapes, Objects *objects) {
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    Word w = {list, -1, 0, 0.0, 0.0, 0.0, 0.0, &shapes->items[UPRIGHT], 0};
    int start = UPRIGHT, owner_shape = UPRIGHT, shape;
    char invisible = 0, owner_invisible = 0;
    void *owner = NULL;
    double lx = 0.0, ly = 0.0, x, y, ligature = 0.0;
    RectF box;

    for (Py_ssize_t n = 0; n < count; n++) {
        int index = (int)n;
        if (kinds[n]) { /* no text or a space */
            if (w.start >= 0) {
                if (!api->is_generated(handle, index) && api->get_text_object(handle, index) == owner &&
                    api->get_char_origin(handle, index, &x, &y)) {
                    if (-1e-3 < x - lx && x - lx < 1e-3 && -1e-3 < y - ly && y - ly < 1e-3) {
                        w.end = n + 1; /* a space of an /ActualText span: the span is one run */
                        continue;
                    }
                    w.ex = x, w.ey = y;
                }
                if (emit(&w) < 0)
                    goto fail;
            }
            continue;
        }
        if (!api->get_char_origin(handle, index, &x, &y)) {
            if (w.start >= 0 && emit(&w) < 0)
                goto fail;
            continue;
        }
        double ox = x, oy = y;
        void *obj = api->get_text_object(handle, index);
        int joined;
        if (w.start >= 0 && obj == owner) {
            shape = owner_shape, invisible = owner_invisible;
            joined = -1e-3 < ox - lx && ox - lx < 1e-3 && -1e-3 < oy - ly && oy - ly < 1e-3;
        } else {
            if (!objects_find(objects, (uintptr_t)obj, &shape, &invisible)) {
                shape = object_shape(api, k, shapes, handle, index, ox, oy);
                if (shape == OUTSIDE) {
                    Py_DECREF(list);
                    Py_RETURN_NONE;
                }
                if (shape == NO_MEMORY) {
                    PyErr_NoMemory();
                    goto fail;
                }
                int mode = obj != NULL ? api->get_render_mode(obj) : 0;
                invisible = mode == 3 || mode == 7; /* neither fill nor stroke, clip only */
                objects_add(objects, (uintptr_t)obj, shape, invisible);
            }
            if (shape == NO_AREA) { /* glyphs with no area show nothing */
                if (w.start >= 0 && emit(&w) < 0)
                    goto fail;
                continue;
            }
            joined = 0;
        }
        Shape *s = &shapes->items[shape];
        if (!joined) {
            lx = ox, ly = oy;
            if (w.start >= 0) {
                double dx = ox - w.ex, dy = oy - w.ey;
                const Shape *ws = w.shape;
                double gap = dx * ws->ux + dy * ws->uy;
                int touches;
                if (invisible != w.hidden) { /* shown and invisible text: never one word */
                    touches = 0;
                } else if (shape == start) {
                    double across = dy * ws->ux - dx * ws->uy;
                    touches = ws->low < gap && gap < ws->high + ligature && -ws->shift <= across && across <= ws->shift;
                } else {
                    double height = ws->height > s->height ? ws->height : s->height;
                    touches = k->overlap_limit * s->height < gap && gap < k->touch_gap * s->height + ligature &&
                              fabs(s->ux - ws->ux) < 1e-6 && fabs(s->uy - ws->uy) < 1e-6 &&
                              (s->up > 0) == (ws->up > 0) &&
                              fabs(dy * ws->ux - dx * ws->uy) <= k->baseline_shift * height;
                }
                if (!touches && emit(&w) < 0)
                    goto fail;
            }
            if (w.start < 0) {
                w.start = n, w.sx = ox, w.sy = oy;
                w.shape = s, start = shape;
                w.hidden = invisible;
            }
            owner = obj, owner_shape = shape, owner_invisible = invisible;
        }
        w.end = n + 1;
        ligature = joined ? k->ligature_bearing * w.shape->height : 0.0;
        if (api->get_loose_char_box(handle, index, &box)) {
            const Shape *ws = w.shape;
            double along_x = ws->ux > 0 ? (double)box.right - ox : (double)box.left - ox;
            double along_y = ws->uy > 0 ? (double)box.top - oy : (double)box.bottom - oy;
            double advance = along_x * ws->ux + along_y * ws->uy;
            w.ex = ox + advance * ws->ux, w.ey = oy + advance * ws->uy;
        } else {
            w.ex = ox, w.ey = oy;
        }
    }
    if (w.start >= 0 && emit(&w) < 0)
        goto fail;
    return list;
fail:
    Py_DECREF(list);
    return NULL;
}

static PyObject *words(PyObject *self, PyObject *args) {
    unsigned long long handle;
    unsigned long long f[7];
    Py_buffer kinds;
    Constants k;
    if (!PyArg_ParseTuple(args, "K(KKKKKKK)y*(ddddd)", &handle, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6],
                          &kinds, &k.touch_gap, &k.overlap_limit, &k.baseline_shift, &k.ligature_bearing,
                          &k.no_area))
        return NULL;
    Api api = {(IsGenerated)(uintptr_t)f[0],     (GetTextObject)(uintptr_t)f[1], (GetCharOrigin)(uintptr_t)f[2],
               (GetLooseCharBox)(uintptr_t)f[3], (GetFontSize)(uintptr_t)f[4],   (GetMatrix)(uintptr_t)f[5],
               (GetRenderMode)(uintptr_t)f[6]};
    Py_ssize_t count = kinds.len;
    size_t slots = 16;
    while (slots < 2 * (size_t)count + 2)
        slots *= 2;
    Shapes shapes = {malloc(16 * sizeof(Shape)), 2, 16};
    Objects objects = {malloc(slots * sizeof(uintptr_t)), malloc(slots * sizeof(int)), malloc(slots),
                       calloc(slots, 1), slots - 1, 0, 0, 0};
    PyObject *result = NULL;
    if (shapes.items == NULL || objects.keys == NULL || objects.shape == NULL || objects.invisible == NULL ||
        objects.used == NULL) {
        PyErr_NoMemory();
    } else {
        shapes.items[UPRIGHT] = with_ranges(&k, 1.0, 0.0, 1.0, 0.0);
        shapes.items[NO_AREA] = with_ranges(&k, 0.0, 0.0, 0.0, 0.0);
        result = run(&api, &k, (void *)(uintptr_t)handle, (const unsigned char *)kinds.buf, count, &shapes, &objects);
    }
    free(shapes.items);
    free(objects.keys), free(objects.shape), free(objects.invisible), free(objects.used);
    PyBuffer_Release(&kinds);
    return result;
}

static PyMethodDef methods[] = {
    {"words", words, METH_VARARGS, "A PDFium text page's words (see the module's source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_glyph_words", NULL, -1, methods};

PyMODINIT_FUNC PyInit__glyph_words(void) { return PyModule_Create(&module); }
