/* From words in page space to rows, in C, for both engines: cc_perf_dagster.core.upright's
 * python_upright_runs and cc_perf_dagster.core.layout's python_rows, line for line.
 *
 * The Python functions are the reference and the fallback (this module is built when a C
 * compiler is there, see pyproject.toml); test_layout_rows.py turns and builds every page of the
 * test invoices and the producer corpus, read by both engines, with both and asks for the same
 * runs and rows, to the last bit.
 *
 * upright(words, mediabox, TextRun, same_direction) -> list of TextRun (before without_decoration),
 *     or None where a word is not a tuple of a str and eight floats or the box not four numbers.
 * rows(runs, Row, Word, row_tolerance, touch_gap, overlap_limit) -> list of Row, or None where a
 *     run's position or size is not a finite number (the caller then runs the Python function).
 *
 * Rows and words are made as the dataclasses' own __init__ makes them: the instance from the
 * type's tp_new, each field set through object.__setattr__ (PyObject_GenericSetAttr), as a
 * frozen dataclass's __init__ does. Texts are compared, split at whitespace (Py_UNICODE_ISSPACE,
 * as str.split, str.isspace and the pattern \S+ do) and joined as Python does. round(x, 2) is
 * Python's: the nearest double to the decimal rounded half-even from x's exact value
 * (PyOS_double_to_string, then PyOS_string_to_double, where the quick way cannot be sure).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

typedef struct {
    PyObject *text; /* borrowed from the run */
    double x0, x1, y, size;
    Py_ssize_t order; /* position in the input, then in the sorted runs: Python's sorts are stable */
} Run;

/* The field names and the empty tuple every instance is made with: made once, with the module. */
static PyObject *s_text, *s_x0, *s_x1, *s_y, *s_size, *s_words, *empty;

typedef struct {
    PyObject *row_type, *word_type;
} Types;

/* round(value, 2) as Python computes it (float.__round__). */
static int round2(double value, double *out) {
    double scaled = value * 100.0;
    if (fabs(value) < 1e5) {
        double below = floor(scaled), fraction = scaled - below;
        /* value * 100 is off the exact product by less than 1e-8 here: away from a half, the
         * nearest integer to the product is the nearest to the exact value, and k / 100.0 (both
         * exact) is the double nearest to the decimal k/100, as Python's strtod gives it. */
        if (fabs(fraction - 0.5) > 1e-6) {
            double k = fraction < 0.5 ? below : below + 1.0;
            *out = k / 100.0;
            if (*out == 0.0)
                *out = copysign(0.0, value); /* round(-0.001, 2) is -0.0 */
            return 0;
        }
    }
    char *text = PyOS_double_to_string(value, 'f', 2, 0, NULL);
    if (text == NULL)
        return -1;
    *out = PyOS_string_to_double(text, NULL, NULL);
    PyMem_Free(text);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int compare_runs(const void *left, const void *right) {
    const Run *a = left, *b = right;
    /* key (-y, x0), stable: -a.y < -b.y is a.y > b.y */
    if (a->y > b->y) return -1;
    if (a->y < b->y) return 1;
    if (a->x0 < b->x0) return -1;
    if (a->x0 > b->x0) return 1;
    return a->order < b->order ? -1 : (a->order > b->order);
}

static int compare_x0(const void *left, const void *right) {
    const Run *a = left, *b = right;
    if (a->x0 < b->x0) return -1;
    if (a->x0 > b->x0) return 1;
    return a->order < b->order ? -1 : (a->order > b->order);
}

/* An instance of a slotted dataclass with its fields set, as its __init__ sets them. */
static PyObject *make(PyObject *type, PyObject **names, PyObject **values, int count) {
    PyObject *made = ((PyTypeObject *)type)->tp_new((PyTypeObject *)type, empty, NULL);
    if (made == NULL)
        return NULL;
    for (int i = 0; i < count; i++) {
        if (values[i] == NULL || PyObject_GenericSetAttr(made, names[i], values[i]) < 0) {
            Py_DECREF(made);
            return NULL;
        }
    }
    return made;
}

static PyObject *make_word(const Types *t, PyObject *text, double x0, double x1) {
    PyObject *values[3] = {text, PyFloat_FromDouble(x0), PyFloat_FromDouble(x1)};
    PyObject *names[3] = {s_text, s_x0, s_x1};
    PyObject *word = make(t->word_type, names, values, 3);
    Py_XDECREF(values[1]);
    Py_XDECREF(values[2]);
    return word;
}

/* One character of a string at index i. */
static Py_UCS4 at(PyObject *text, Py_ssize_t i) { return PyUnicode_READ_CHAR(text, i); }

static int all_space(PyObject *text, Py_ssize_t length) {
    for (Py_ssize_t i = 0; i < length; i++)
        if (!Py_UNICODE_ISSPACE(at(text, i)))
            return 0;
    return 1;
}

/* layout._make_row: the row's runs (sorted here by x0) as one Row. */
static PyObject *make_row(const Types *t, Run *runs, Py_ssize_t count, double y, double size,
                          double touch_gap, double overlap_limit) {
    qsort(runs, (size_t)count, sizeof(Run), compare_x0);
    PyObject *words = PyList_New(0);
    if (words == NULL)
        return NULL;
    const Run *prev = NULL;
    for (Py_ssize_t r = 0; r < count; r++) {
        const Run *run = &runs[r];
        PyObject *text = run->text;
        Py_ssize_t span = PyUnicode_GET_LENGTH(text);
        if (span == 0 || all_space(text, span))
            continue;
        double x0 = run->x0;
        if (prev != NULL && fabs(x0 - prev->x0) < 0.5) {
            int same = PyUnicode_Compare(text, prev->text);
            if (same == -1 && PyErr_Occurred())
                goto fail;
            if (same == 0)
                continue; /* the same text drawn twice (fake bold, shadow) */
        }
        double per_char = (run->x1 - x0) / (double)span;
        int glue = 0;
        if (prev != NULL && PyList_GET_SIZE(words) > 0) {
            Py_ssize_t prev_length = PyUnicode_GET_LENGTH(prev->text);
            double gap = x0 - prev->x1;
            glue = !Py_UNICODE_ISSPACE(at(prev->text, prev_length - 1)) && !Py_UNICODE_ISSPACE(at(text, 0)) &&
                   overlap_limit * run->size < gap && gap < touch_gap * run->size;
        }
        prev = run;
        Py_ssize_t i = 0;
        while (i < span) {
            while (i < span && Py_UNICODE_ISSPACE(at(text, i)))
                i++;
            if (i == span)
                break;
            Py_ssize_t start = i;
            while (i < span && !Py_UNICODE_ISSPACE(at(text, i)))
                i++;
            PyObject *piece = (start == 0 && i == span) ? (Py_INCREF(text), text) : PyUnicode_Substring(text, start, i);
            if (piece == NULL)
                goto fail;
            double left, right;
            if (round2(x0 + (double)i * per_char, &right) < 0) {
                Py_DECREF(piece);
                goto fail;
            }
            PyObject *word;
            if (glue) {
                Py_ssize_t last_index = PyList_GET_SIZE(words) - 1;
                PyObject *last = PyList_GET_ITEM(words, last_index);
                PyObject *last_text = PyObject_GetAttr(last, s_text);
                PyObject *last_x0 = last_text ? PyObject_GetAttr(last, s_x0) : NULL;
                PyObject *joined = last_x0 ? PyUnicode_Concat(last_text, piece) : NULL;
                word = joined ? make_word(t, joined, PyFloat_AS_DOUBLE(last_x0), right) : NULL;
                Py_XDECREF(last_text);
                Py_XDECREF(last_x0);
                Py_XDECREF(joined);
                Py_DECREF(piece);
                if (word == NULL || PyList_SetItem(words, last_index, word) < 0)
                    goto fail;
                glue = 0;
            } else {
                if (round2(x0 + (double)start * per_char, &left) < 0) {
                    Py_DECREF(piece);
                    goto fail;
                }
                word = make_word(t, piece, left, right);
                Py_DECREF(piece);
                if (word == NULL || PyList_Append(words, word) < 0) {
                    Py_XDECREF(word);
                    goto fail;
                }
                Py_DECREF(word);
            }
        }
    }
    PyObject *tuple = PyList_AsTuple(words);
    Py_DECREF(words);
    if (tuple == NULL)
        return NULL;
    PyObject *values[3] = {PyFloat_FromDouble(y), PyFloat_FromDouble(size), tuple};
    PyObject *names[3] = {s_y, s_size, s_words};
    PyObject *row = make(t->row_type, names, values, 3);
    Py_XDECREF(values[0]);
    Py_XDECREF(values[1]);
    Py_DECREF(tuple);
    return row;
fail:
    Py_DECREF(words);
    return NULL;
}

static int read_float(PyObject *run, PyObject *name, double *out) {
    PyObject *value = PyObject_GetAttr(run, name);
    if (value == NULL)
        return -1;
    *out = PyFloat_AsDouble(value);
    Py_DECREF(value);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *rows(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *list, *row_type, *word_type;
    double row_tolerance, touch_gap, overlap_limit;
    if (!PyArg_ParseTuple(args, "O!OOddd", &PyList_Type, &list, &row_type, &word_type, &row_tolerance, &touch_gap,
                          &overlap_limit))
        return NULL;
    if (!PyType_Check(row_type) || !PyType_Check(word_type)) {
        PyErr_SetString(PyExc_TypeError, "Row and Word must be types");
        return NULL;
    }
    Types t = {row_type, word_type};
    PyObject *result = NULL;
    Run *runs = NULL;
    Py_ssize_t count = PyList_GET_SIZE(list);
    runs = PyMem_Calloc((size_t)(count ? count : 1), sizeof(Run));
    if (runs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(list, i);
        Run *run = &runs[i];
        run->order = i;
        run->text = PyObject_GetAttr(item, s_text); /* owned until done */
        if (run->text == NULL)
            goto done;
        if (!PyUnicode_Check(run->text)) {
            PyErr_SetString(PyExc_TypeError, "a run's text must be a str");
            goto done;
        }
        if (read_float(item, s_x0, &run->x0) < 0 || read_float(item, s_x1, &run->x1) < 0 ||
            read_float(item, s_y, &run->y) < 0 || read_float(item, s_size, &run->size) < 0)
            goto done;
        if (!isfinite(run->x0) || !isfinite(run->x1) || !isfinite(run->y) || !isfinite(run->size)) {
            result = Py_None; /* Python's comparisons with NaN decide: the caller runs the reference */
            Py_INCREF(result);
            goto done;
        }
    }
    result = PyList_New(0);
    if (result == NULL || count == 0)
        goto done;
    qsort(runs, (size_t)count, sizeof(Run), compare_runs);
    for (Py_ssize_t i = 0; i < count; i++)
        runs[i].order = i; /* a row's sort by x0 keeps this order among equals, as Python's does */
    Py_ssize_t first = 0;
    double anchor = runs[0].y, size = runs[0].size;
    for (Py_ssize_t i = 1; i <= count; i++) {
        if (i < count) {
            double larger = runs[i].size > size ? runs[i].size : size; /* max(size, run.size) */
            if (anchor - runs[i].y <= row_tolerance * larger) {
                size = larger;
                continue;
            }
        }
        PyObject *row = make_row(&t, runs + first, i - first, anchor, size, touch_gap, overlap_limit);
        if (row == NULL || PyList_Append(result, row) < 0) {
            Py_XDECREF(row);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(row);
        if (i < count) {
            first = i;
            anchor = runs[i].y;
            size = runs[i].size;
        }
    }
done:
    if (runs != NULL) {
        for (Py_ssize_t i = 0; i < count; i++)
            Py_XDECREF(runs[i].text);
        PyMem_Free(runs);
    }
    return result;
}

typedef struct {
    PyObject *text; /* borrowed from the word's tuple */
    PyObject *height; /* borrowed: kept as it is where it is not zero, as "height or 1.0" keeps it */
    double x0, y0, x1, y1, ux, uy, up;
} RawWord;

/* upright._quadrant */
static int quadrant(double ux, double uy) {
    if (fabs(ux) >= fabs(uy))
        return ux > 0 ? 0 : 2;
    return uy > 0 ? 1 : 3;
}

/* min() of four: the first of the least, as Python's min keeps it (0.0 before -0.0). */
static double first_least(const double *values) {
    double least = values[0];
    for (int i = 1; i < 4; i++)
        if (values[i] < least)
            least = values[i];
    return least;
}

/* upright.python_upright_runs, less without_decoration (the caller's). */
static PyObject *upright(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *raw, *box, *run_type;
    double same_direction, media[4];
    if (!PyArg_ParseTuple(args, "O!OOd", &PyList_Type, &raw, &box, &run_type, &same_direction))
        return NULL;
    if (!PyType_Check(run_type)) {
        PyErr_SetString(PyExc_TypeError, "TextRun must be a type");
        return NULL;
    }
    if (!PyTuple_Check(box) || PyTuple_GET_SIZE(box) != 4)
        Py_RETURN_NONE;
    for (int i = 0; i < 4; i++) {
        media[i] = PyFloat_AsDouble(PyTuple_GET_ITEM(box, i));
        if (media[i] == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            Py_RETURN_NONE;
        }
    }
    Py_ssize_t count = PyList_GET_SIZE(raw);
    RawWord *words = PyMem_Calloc((size_t)(count ? count : 1), sizeof(RawWord));
    if (words == NULL)
        return PyErr_NoMemory();
    PyObject *result = NULL;
    Py_ssize_t weight[4] = {0, 0, 0, 0}, flips = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(raw, i);
        RawWord *word = &words[i];
        /* A tuple of a str and eight floats, as the engines make them; anything else is Python's. */
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 9 || !PyUnicode_Check(PyTuple_GET_ITEM(item, 0))) {
            result = Py_None;
            goto done;
        }
        for (int k = 1; k < 9; k++) {
            if (!PyFloat_CheckExact(PyTuple_GET_ITEM(item, k))) {
                result = Py_None;
                goto done;
            }
        }
        word->text = PyTuple_GET_ITEM(item, 0);
        word->x0 = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 1));
        word->y0 = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 2));
        word->x1 = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 3));
        word->y1 = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 4));
        word->ux = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 5));
        word->uy = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 6));
        word->up = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 7));
        word->height = PyTuple_GET_ITEM(item, 8);
        Py_ssize_t length = PyUnicode_GET_LENGTH(word->text);
        weight[quadrant(word->ux, word->uy)] += length;
        flips += word->up < 0 ? length : -length;
    }
    int turn = 0;
    for (int q = 1; q < 4; q++)
        if (weight[q] > weight[turn])
            turn = q; /* weight.index(max(weight)): the first of the largest */
    static const double turns[4][2] = {{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.0}, {0.0, -1.0}};
    double dx = turns[turn][0], dy = turns[turn][1];
    double mirror = flips > 0 ? -1.0 : 1.0;
    double xs[4], ys[4];
    int n = 0;
    for (int a = 0; a < 4; a += 2)
        for (int b = 1; b < 4; b += 2, n++) { /* x in (box[0], box[2]), y in (box[1], box[3]) */
            xs[n] = media[a] * dx + media[b] * dy;
            ys[n] = (-media[a] * dy + media[b] * dx) * mirror;
        }
    double left = first_least(xs), bottom = first_least(ys);
    PyObject *names[5] = {s_text, s_x0, s_x1, s_y, s_size};
    PyObject *one = PyFloat_FromDouble(1.0);
    result = PyList_New(0);
    if (!one || !result) {
        Py_CLEAR(result);
        goto release;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        const RawWord *word = &words[i];
        if (word->ux * dx + word->uy * dy < same_direction)
            continue; /* (a NaN direction is kept, as Python keeps it) */
        PyObject *height = PyFloat_AS_DOUBLE(word->height) == 0.0 ? one : word->height;
        PyObject *values[5] = {word->text, PyFloat_FromDouble(word->x0 * dx + word->y0 * dy - left),
                               PyFloat_FromDouble(word->x1 * dx + word->y1 * dy - left),
                               PyFloat_FromDouble((-word->x0 * dy + word->y0 * dx) * mirror - bottom), height};
        PyObject *run = make(run_type, names, values, 5);
        Py_XDECREF(values[1]);
        Py_XDECREF(values[2]);
        Py_XDECREF(values[3]);
        if (run == NULL || PyList_Append(result, run) < 0) {
            Py_XDECREF(run);
            Py_CLEAR(result);
            goto release;
        }
        Py_DECREF(run);
    }
release:
    Py_XDECREF(one);
    PyMem_Free(words);
    return result;
done:
    PyMem_Free(words);
    Py_INCREF(result);
    return result;
}

static PyMethodDef methods[] = {
    {"rows", rows, METH_VARARGS, "A page's text runs as rows (see the module's source)."},
    {"upright", upright, METH_VARARGS, "A page's words turned upright as text runs (see the module's source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rows", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__rows(void) {
    s_text = PyUnicode_InternFromString("text");
    s_x0 = PyUnicode_InternFromString("x0");
    s_x1 = PyUnicode_InternFromString("x1");
    s_y = PyUnicode_InternFromString("y");
    s_size = PyUnicode_InternFromString("size");
    s_words = PyUnicode_InternFromString("words");
    empty = PyTuple_New(0);
    if (!s_text || !s_x0 || !s_x1 || !s_y || !s_size || !s_words || !empty)
        return NULL;
    return PyModule_Create(&module);
}
