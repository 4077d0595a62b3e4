/*
 * vgg-train: trains a net in the paper's notation on a labelled image set.
 * The flow: parse options; open the data and the net (fresh, from another net, or from a
 * checkpoint); then per epoch: batches from the loader's threads, a gradient step each,
 * an evaluation, a checkpoint; finally the weights file.
 * Under mpirun or srun (built with MPI) every rank runs this flow on its share of each
 * batch and train_mpi.c sums what they must agree on; rank 0 alone writes files and talks.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "train_mpi.h"

static void usage(void)
{
	printf("Usage: vgg-train --arch CONFIG --train DATA -o OUT.safetensors [OPTION]...\n"
	       "Train a VGG net with SGD as the paper did, and write its weights file.\n"
	       "DATA is a directory with a subdirectory of images per class, a list file of\n"
	       "'path label' lines, or an MNIST/Fashion-MNIST IDX images file.\n"
	       "\n"
	       "  -a, --arch CONFIG       the net: a built-in name, a config file or inline text\n"
	       "  -w, --width F           scale every conv and hidden FC layer's width by F\n"
	       "  -i, --input HxW[xC]     train at this input size (and channels) instead of the\n"
	       "                          config's\n"
	       "      --train DATA        the training set\n"
	       "      --val DATA          the validation set, evaluated after every epoch\n"
	       "      --val-split F       hold out this fraction of DATA for validation instead\n"
	       "  -o, --output FILE       the trained weights (vgg-weights(5))\n"
	       "  -e, --epochs N          epochs to run [30]\n"
	       "  -b, --batch N           images per step [256]\n"
	       "      --lr F              the base learning rate [0.01]\n"
	       "      --momentum F        [0.9]\n"
	       "      --weight-decay F    L2 penalty on every parameter [5e-4]\n"
	       "      --dropout F         dropout on every FC layer but the last [0.5]\n"
	       "      --schedule KIND     plateau (divide by 10 when validation accuracy stalls),\n"
	       "                          step or cosine [plateau]\n"
	       "      --patience N        plateau: epochs without improvement before a drop [3]\n"
	       "      --lr-drops N        plateau and step: at most N divisions by 10 [3]\n"
	       "      --step N            step: epochs between divisions [10]\n"
	       "      --warmup N          epochs of linear warm-up [0]\n"
	       "      --scale S|MIN:MAX   rescale the shorter side to S, or to a random S in\n"
	       "                          [MIN, MAX] per image (scale jittering) [keep the size]\n"
	       "      --pad P             pad images by P zero pixels before the random crop [0]\n"
	       "      --no-flip           no random horizontal flips\n"
	       "      --colour F          sigma of the PCA colour shift, 3-channel nets [0.1]\n"
	       "      --mean R,G,B        normalise with this mean (0..1 scale) [the training set's]\n"
	       "      --std R,G,B         and this standard deviation [the training set's]\n"
	       "      --init KIND         kaiming, glorot or normal (the paper's N(0, 0.01))\n"
	       "                          [kaiming]\n"
	       "      --init-from FILE    start from a trained net ('-': stdin): every layer that\n"
	       "                          fits for the same architecture, else the paper's\n"
	       "                          surgery (its first four conv layers and its FC layers)\n"
	       "      --freeze LIST       keep these layers fixed: names and ranges, as in\n"
	       "                          conv1_1..conv4_3,fc6\n"
	       "      --labels NAME|FILE  class names for IDX and list data: a list in share/vgg\n"
	       "                          (fashion-mnist, imagenet) or a file, one per line\n"
	       "      --checkpoint FILE   written after every epoch and on Ctrl-C [OUT.ckpt]\n"
	       "      --resume FILE       continue from a checkpoint\n"
	       "      --log FILE          one JSON object per step and per epoch\n"
	       "      --plot FILE.png     loss and accuracy per epoch as a chart\n"
	       "  -t, --threads N         threads for the maths [all cores]\n"
	       "      --seed N            the seed of every random choice [1]\n"
	       "      --overlap WHEN      under MPI, sum the gradients during the backward pass:\n"
	       "                          yes, no, or auto (when every rank has a machine to\n"
	       "                          itself) [auto]\n"
	       "  -q, --quiet             no progress bar or epoch lines\n"
	       "  -h, --help              show this help and exit\n"
	       "  -V, --version           show the version and exit\n"
	       "\n"
	       "Exit status: 0 success, 1 bad data or a failure, 2 usage error, 130 interrupted\n"
	       "(after writing the checkpoint).  See vgg-train(1).\n" TRAIN_MPI_HELP);
}

enum {
	OPT_TRAIN = 256, OPT_VAL, OPT_VAL_SPLIT, OPT_LR, OPT_MOMENTUM, OPT_WD, OPT_DROPOUT,
	OPT_SCHEDULE, OPT_PATIENCE, OPT_LR_DROPS, OPT_STEP, OPT_WARMUP, OPT_SCALE, OPT_PAD,
	OPT_NO_FLIP, OPT_COLOUR, OPT_MEAN, OPT_STD, OPT_INIT, OPT_INIT_FROM, OPT_FREEZE,
	OPT_LABELS, OPT_CHECKPOINT, OPT_RESUME, OPT_LOG, OPT_PLOT, OPT_SEED, OPT_OVERLAP
};

struct options {
	const char *arch, *train, *val, *output, *init_from, *freeze, *labels;
	const char *checkpoint, *resume, *log, *plot;
	double val_split, width;
	int epochs, batch, threads, quiet;
	int in_h, in_w, in_c;      /* --input; 0: the config's */
	float lr, momentum, weight_decay, dropout, colour;
	vgg_schedule sched;
	int scale_min, scale_max, pad, flip;
	float mean[3], std[3];
	int have_mean, have_std;
	enum vgg_init init;
	uint64_t seed;
	enum train_mpi_overlap overlap;
};

static double parse_double(const char *opt, const char *s, double min, double max)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= min && v <= max))
		cli_usage_error("%s: '%s' is not a number in [%g, %g]", opt, s, min, max);
	return v;
}

static void parse_triple(const char *opt, const char *s, float v[3], double min)
{
	const char *p = s;
	for (int i = 0; i < 3; i++) {
		char *end;
		errno = 0;
		double d = strtod(p, &end);
		if (end == p || errno || !(d >= min && d <= 1e6) || (i < 2 && *end != ','))
			cli_usage_error("%s: '%s' is not three numbers R,G,B", opt, s);
		v[i] = (float)d;
		p = end + (i < 2);
		if (i == 2 && *end)
			cli_usage_error("%s: '%s' is not three numbers R,G,B", opt, s);
	}
}

static void parse_scale(const char *s, struct options *o)
{
	const char *colon = strchr(s, ':');
	char first[16];
	if (!colon) {
		o->scale_min = o->scale_max = (int)cli_parse_long("--scale", s, 1, 65536);
		return;
	}
	if ((size_t)(colon - s) >= sizeof first)
		cli_usage_error("--scale: '%s' is not S or MIN:MAX", s);
	memcpy(first, s, (size_t)(colon - s));
	first[colon - s] = 0;
	o->scale_min = (int)cli_parse_long("--scale", first, 1, 65536);
	o->scale_max = (int)cli_parse_long("--scale", colon + 1, 1, 65536);
	if (o->scale_max < o->scale_min)
		cli_usage_error("--scale: '%s' has MAX below MIN", s);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"arch", required_argument, 0, 'a'},
		{"width", required_argument, 0, 'w'},
		{"input", required_argument, 0, 'i'},
		{"train", required_argument, 0, OPT_TRAIN},
		{"val", required_argument, 0, OPT_VAL},
		{"val-split", required_argument, 0, OPT_VAL_SPLIT},
		{"output", required_argument, 0, 'o'},
		{"epochs", required_argument, 0, 'e'},
		{"batch", required_argument, 0, 'b'},
		{"lr", required_argument, 0, OPT_LR},
		{"momentum", required_argument, 0, OPT_MOMENTUM},
		{"weight-decay", required_argument, 0, OPT_WD},
		{"dropout", required_argument, 0, OPT_DROPOUT},
		{"schedule", required_argument, 0, OPT_SCHEDULE},
		{"patience", required_argument, 0, OPT_PATIENCE},
		{"lr-drops", required_argument, 0, OPT_LR_DROPS},
		{"step", required_argument, 0, OPT_STEP},
		{"warmup", required_argument, 0, OPT_WARMUP},
		{"scale", required_argument, 0, OPT_SCALE},
		{"pad", required_argument, 0, OPT_PAD},
		{"no-flip", no_argument, 0, OPT_NO_FLIP},
		{"colour", required_argument, 0, OPT_COLOUR},
		{"mean", required_argument, 0, OPT_MEAN},
		{"std", required_argument, 0, OPT_STD},
		{"init", required_argument, 0, OPT_INIT},
		{"init-from", required_argument, 0, OPT_INIT_FROM},
		{"freeze", required_argument, 0, OPT_FREEZE},
		{"labels", required_argument, 0, OPT_LABELS},
		{"checkpoint", required_argument, 0, OPT_CHECKPOINT},
		{"resume", required_argument, 0, OPT_RESUME},
		{"log", required_argument, 0, OPT_LOG},
		{"plot", required_argument, 0, OPT_PLOT},
		{"threads", required_argument, 0, 't'},
		{"seed", required_argument, 0, OPT_SEED},
		{"overlap", required_argument, 0, OPT_OVERLAP},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	int c;
	enum vgg_schedule_kind kind = VGG_SCHEDULE_PLATEAU;
	int patience = 3, drops = 3, step = 10, warmup = 0;
	*o = (struct options){.epochs = 30, .batch = 256, .lr = 0.01f, .momentum = 0.9f,
	                      .weight_decay = 5e-4f, .dropout = 0.5f, .colour = 0.1f, .flip = 1,
	                      .init = VGG_INIT_KAIMING, .seed = 1};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:w:i:o:e:b:t:qhV", longs, NULL)) != -1) {
		switch (c) {
		case 'a': o->arch = optarg; break;
		case 'w': o->width = parse_double("--width", optarg, 1e-3, 64); break;
		case 'i': cli_parse_size("--input", optarg, &o->in_h, &o->in_w, &o->in_c); break;
		case OPT_TRAIN: o->train = optarg; break;
		case OPT_VAL: o->val = optarg; break;
		case OPT_VAL_SPLIT: o->val_split = parse_double("--val-split", optarg, 1e-6, 0.9); break;
		case 'o': o->output = optarg; break;
		case 'e': o->epochs = (int)cli_parse_long("--epochs", optarg, 1, 100000); break;
		case 'b': o->batch = (int)cli_parse_long("--batch", optarg, 1, 65536); break;
		case OPT_LR: o->lr = (float)parse_double("--lr", optarg, 0, 100); break;
		case OPT_MOMENTUM: o->momentum = (float)parse_double("--momentum", optarg, 0, 1); break;
		case OPT_WD: o->weight_decay = (float)parse_double("--weight-decay", optarg, 0, 1); break;
		case OPT_DROPOUT: o->dropout = (float)parse_double("--dropout", optarg, 0, 0.99); break;
		case OPT_SCHEDULE:
			if (strcmp(optarg, "plateau") == 0)
				kind = VGG_SCHEDULE_PLATEAU;
			else if (strcmp(optarg, "step") == 0)
				kind = VGG_SCHEDULE_STEP;
			else if (strcmp(optarg, "cosine") == 0)
				kind = VGG_SCHEDULE_COSINE;
			else
				cli_usage_error("--schedule: '%s' is not plateau, step or cosine", optarg);
			break;
		case OPT_PATIENCE: patience = (int)cli_parse_long("--patience", optarg, 1, 10000); break;
		case OPT_LR_DROPS: drops = (int)cli_parse_long("--lr-drops", optarg, 0, 100); break;
		case OPT_STEP: step = (int)cli_parse_long("--step", optarg, 1, 100000); break;
		case OPT_WARMUP: warmup = (int)cli_parse_long("--warmup", optarg, 0, 100000); break;
		case OPT_SCALE: parse_scale(optarg, o); break;
		case OPT_PAD: o->pad = (int)cli_parse_long("--pad", optarg, 0, 4096); break;
		case OPT_NO_FLIP: o->flip = 0; break;
		case OPT_COLOUR: o->colour = (float)parse_double("--colour", optarg, 0, 10); break;
		case OPT_MEAN: parse_triple("--mean", optarg, o->mean, -1e6); o->have_mean = 1; break;
		case OPT_STD: parse_triple("--std", optarg, o->std, 1e-6); o->have_std = 1; break;
		case OPT_INIT:
			if (strcmp(optarg, "kaiming") == 0)
				o->init = VGG_INIT_KAIMING;
			else if (strcmp(optarg, "glorot") == 0)
				o->init = VGG_INIT_GLOROT;
			else if (strcmp(optarg, "normal") == 0)
				o->init = VGG_INIT_NORMAL;
			else
				cli_usage_error("--init: '%s' is not kaiming, glorot or normal", optarg);
			break;
		case OPT_INIT_FROM: o->init_from = optarg; break;
		case OPT_FREEZE: o->freeze = optarg; break;
		case OPT_LABELS: o->labels = optarg; break;
		case OPT_CHECKPOINT: o->checkpoint = optarg; break;
		case OPT_RESUME: o->resume = optarg; break;
		case OPT_LOG: o->log = optarg; break;
		case OPT_PLOT: o->plot = optarg; break;
		case 't': o->threads = (int)cli_parse_long("--threads", optarg, 1, 1024); break;
		case OPT_SEED:
			o->seed = (uint64_t)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL);
			break;
		case OPT_OVERLAP:
			if (strcmp(optarg, "auto") == 0)
				o->overlap = TRAIN_MPI_AUTO;
			else if (strcmp(optarg, "yes") == 0)
				o->overlap = TRAIN_MPI_OVERLAP;
			else if (strcmp(optarg, "no") == 0)
				o->overlap = TRAIN_MPI_AFTER;
			else
				cli_usage_error("--overlap: '%s' is not yes, no or auto", optarg);
			break;
		case 'q': o->quiet = 1; break;
		default: cli_common_option(c, argv, usage);
		}
	}
	if (optind < argc)
		cli_usage_error("unexpected operand '%s'", argv[optind]);
	if (!o->train)
		cli_usage_error("no --train DATA");
	if (!o->output)
		cli_usage_error("no -o OUT.safetensors");
	if (!o->arch && !o->resume)
		cli_usage_error("no --arch CONFIG");
	if (o->val && o->val_split > 0)
		cli_usage_error("--val and --val-split exclude each other");
	if (o->init_from && o->resume)
		cli_usage_error("--init-from and --resume exclude each other");
	vgg_schedule_init(&o->sched, kind, o->lr, o->epochs);
	o->sched.patience = patience;
	o->sched.max_drops = drops;
	o->sched.step = step;
	o->sched.warmup = warmup;
}

/* ---- Ctrl-C: finish the step, write the checkpoint, leave ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- The run ---- */

struct run {
	struct options *o;
	vgg_config *cfg;
	vgg_trainer *trainer;
	vgg_dataset *train, *val;
	vgg_loader *train_loader, *val_loader;
	vgg_augment aug;
	int channels, classes;
	char *labels;            /* newline-separated class names, or NULL */
	const char *label_list;  /* or the name of a list in share/vgg */
	char *checkpoint;
	FILE *log;
	int lead;                /* rank 0, or the only process: writes files and talks */
	int stop;                /* every rank saw the interrupt: checkpoint and leave */
	int stats_moved;         /* batch norm's running statistics moved since averaged */
	int epoch, batch;        /* epochs done; batches done of the next epoch */
	double *history;         /* per epoch: train loss, train acc, val loss, val acc */
	int history_len;
};

static void write_meta(const struct run *r, vgg_weights_writer *wr)
{
	vgg_error err;
	char buf[256];
	vgg_preprocess eval, *p = &eval;
	vgg_augment_preprocess(&r->aug, &eval);
	char *config = vgg_config_to_text(r->cfg);
	int ok = config && !vgg_weights_writer_meta(wr, "vgg.config", config, &err) &&
	         !vgg_weights_writer_meta(wr, "vgg.name", vgg_config_name(r->cfg), &err);
	free(config);
	snprintf(buf, sizeof buf, "%.9g", p->scale);
	ok = ok && !vgg_weights_writer_meta(wr, "vgg.scale", buf, &err);
	snprintf(buf, sizeof buf, "%.9g,%.9g,%.9g", p->mean[0], p->mean[1], p->mean[2]);
	ok = ok && !vgg_weights_writer_meta(wr, "vgg.mean", buf, &err);
	snprintf(buf, sizeof buf, "%.9g,%.9g,%.9g", p->std[0], p->std[1], p->std[2]);
	ok = ok && !vgg_weights_writer_meta(wr, "vgg.std", buf, &err);
	ok = ok && !vgg_weights_writer_meta(wr, "vgg.order", "RGB", &err);
	snprintf(buf, sizeof buf, "%d", p->resize);
	ok = ok && !vgg_weights_writer_meta(wr, "vgg.resize", buf, &err);
	snprintf(buf, sizeof buf, "%dx%d", p->crop_h, p->crop_w);
	ok = ok && !vgg_weights_writer_meta(wr, "vgg.crop", buf, &err);
	if (ok && r->labels)
		ok = !vgg_weights_writer_meta(wr, "vgg.labels", r->labels, &err);
	if (ok && r->label_list)
		ok = !vgg_weights_writer_meta(wr, "vgg.label_list", r->label_list, &err);
	if (!ok)
		cli_fail("%s", config ? err.msg : "out of memory");
}

/* The weights file, or with `state` the checkpoint: momentum and where the run stands. */
static int write_weights(struct run *r, const char *path, int state, vgg_error *err)
{
	vgg_weights_writer *wr = vgg_weights_writer_new();
	if (!wr)
		cli_fail("out of memory");
	write_meta(r, wr);
	int rc = vgg_trainer_write(r->trainer, wr, state, err);
	if (!rc && state) {
		const vgg_schedule *s = &r->o->sched;
		char buf[512];
		snprintf(buf, sizeof buf,
		         "{\"epoch\":%d,\"batch\":%d,\"steps\":%llu,\"seed\":%llu,\"drops\":%d,"
		         "\"stale\":%d,\"best\":%.17g}",
		         r->epoch, r->batch, (unsigned long long)vgg_trainer_steps(r->trainer),
		         (unsigned long long)r->o->seed, s->drops, s->stale, s->best);
		rc = vgg_weights_writer_meta(wr, "vgg.train.state", buf, err);
	}
	if (!rc)
		rc = vgg_weights_writer_write(wr, path, err);
	vgg_weights_writer_free(wr);
	return rc;
}

static int json_int(const cJSON *o, const char *key, double *v)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(item))
		return 0;
	*v = item->valuedouble;
	return 1;
}

/* Restores the trainer, the schedule and the position in the run from a checkpoint. */
static void resume(struct run *r)
{
	vgg_weights *w;
	vgg_error err;
	char copied[16];
	if (vgg_weights_open(r->o->resume, &w, &err))
		cli_fail("%s", err.msg);
	const char *state = vgg_weights_meta(w, "vgg.train.state");
	cJSON *j = state ? cJSON_Parse(state) : NULL;
	double epoch, batch, steps, seed, drops, stale, best;
	if (!j || !json_int(j, "epoch", &epoch) || !json_int(j, "batch", &batch) ||
	    !json_int(j, "steps", &steps) || !json_int(j, "seed", &seed) ||
	    !json_int(j, "drops", &drops) || !json_int(j, "stale", &stale) ||
	    !json_int(j, "best", &best) || epoch < 0 || batch < 0 || steps < 0)
		cli_fail("'%s': not a vgg-train checkpoint (no valid vgg.train.state)", r->o->resume);
	cJSON_Delete(j);
	if (vgg_trainer_copy_from(r->trainer, w, VGG_COPY_RESUME, copied, sizeof copied, &err))
		cli_fail("'%s': %s", r->o->resume, err.msg);
	r->epoch = (int)epoch;
	r->batch = (int)batch;
	vgg_trainer_set_steps(r->trainer, (uint64_t)steps);
	r->o->seed = (uint64_t)seed;
	r->o->sched.drops = (int)drops;
	r->o->sched.stale = (int)stale;
	r->o->sched.best = best;
	vgg_weights_free(w);
}

/* --init-from: the same architecture fine-tunes every layer that fits, another gets the
 * paper's surgery. */
static void init_from(struct run *r)
{
	vgg_weights *w;
	vgg_error err;
	char copied[1024];
	int rc = strcmp(r->o->init_from, "-") == 0
	             ? vgg_weights_read_stream(stdin, "-", &w, &err)
	             : vgg_weights_open(r->o->init_from, &w, &err);
	if (rc)
		cli_fail("%s", err.msg);
	const char *text = vgg_weights_meta(w, "vgg.config");
	vgg_config *theirs = NULL;
	enum vgg_copy how = VGG_COPY_SURGERY;
	if (text && !vgg_config_parse(text, r->o->init_from, &theirs, NULL) &&
	    !vgg_config_set_classes(theirs, vgg_config_classes(r->cfg), NULL)) {
		/* Equal but for the class count: a new last FC layer, the rest fine-tuned. */
		char *a = vgg_config_to_text(theirs), *b = vgg_config_to_text(r->cfg);
		if (a && b && strcmp(a, b) == 0)
			how = VGG_COPY_FINETUNE;
		free(a);
		free(b);
	}
	vgg_config_free(theirs);
	if (vgg_trainer_copy_from(r->trainer, w, how, copied, sizeof copied, &err))
		cli_fail("'%s': %s", r->o->init_from, err.msg);
	if (r->lead)
		fprintf(stderr, "%s: %s from %s: %s\n", cli_prog,
		        how == VGG_COPY_FINETUNE ? "fine-tuning" : "net surgery", r->o->init_from,
		        copied);
	vgg_weights_free(w);
}

/* --freeze conv1_1..conv4_3,fc6: ranges run over the weighted layers in order. */
static void freeze(struct run *r)
{
	char *list = strdup(r->o->freeze), *save = NULL;
	vgg_layout *lay;
	vgg_error err;
	if (!list || vgg_layout_new(r->cfg, 0, 0, 0, &lay, &err))
		cli_fail("out of memory");
	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *dots = strstr(item, "..");
		const char *last = dots ? dots + 2 : item;
		if (dots)
			*dots = 0;
		const vgg_layer_info *a = vgg_layout_find(lay, item), *b = vgg_layout_find(lay, last);
		if (!a || !b)
			cli_usage_error("--freeze: no layer '%s' in %s", !a ? item : last,
			                vgg_config_name(r->cfg));
		if (b < a)
			cli_usage_error("--freeze: %s comes after %s", a->name, b->name);
		for (const vgg_layer_info *l = a; l <= b; l++)
			if (l->kind == VGG_LAYER_CONV || l->kind == VGG_LAYER_FC)
				if (vgg_trainer_freeze(r->trainer, l->name, &err))
					cli_usage_error("--freeze: %s", err.msg);
	}
	vgg_layout_free(lay);
	free(list);
}

static int count_lines(const char *text)
{
	int n = *text != 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n' && p[1];
	return n;
}

/* The class names: the data's own, a named list in share/vgg, or a file. */
static void class_names(struct run *r)
{
	const char *given = r->o->labels;
	if (given && vgg_label_list(given)) {
		r->label_list = given;
	} else if (given) {
		r->labels = cli_read_text(given);
		size_t n = strlen(r->labels);
		while (n && (r->labels[n - 1] == '\n' || r->labels[n - 1] == '\r'))
			r->labels[--n] = 0;
	} else {
		size_t len = 1;
		for (int c = 0; c < r->classes; c++) {
			const char *name = vgg_dataset_class_name(r->train, c);
			if (!name)
				return;
			len += strlen(name) + 1;
		}
		if (!(r->labels = malloc(len)))
			cli_fail("out of memory");
		r->labels[0] = 0;
		for (int c = 0; c < r->classes; c++) {
			strcat(r->labels, vgg_dataset_class_name(r->train, c));
			if (c + 1 < r->classes)
				strcat(r->labels, "\n");
		}
	}
	int n = count_lines(r->label_list ? vgg_label_list(r->label_list) : r->labels);
	if (n != r->classes)
		cli_fail("--labels %s has %d names for the data's %d classes", given, n, r->classes);
}

static void open_data(struct run *r)
{
	struct options *o = r->o;
	vgg_error err;
	vgg_dataset *all;
	if (vgg_dataset_open(o->train, &all, &err))
		cli_fail("%s", err.msg);
	if (o->val_split > 0) {
		if (vgg_dataset_split(all, o->val_split, o->seed, &r->train, &r->val, &err))
			cli_fail("%s", err.msg);
		vgg_dataset_free(all);
	} else {
		r->train = all;
		if (o->val && vgg_dataset_open(o->val, &r->val, &err))
			cli_fail("%s", err.msg);
	}
	r->classes = vgg_dataset_classes(r->train);
	if (r->val && vgg_dataset_classes(r->val) > r->classes)
		cli_fail("'%s' has %d classes, the training set %d", o->val ? o->val : o->train,
		         vgg_dataset_classes(r->val), r->classes);
}

/* Normalisation and augmentation from the options and the training set's statistics. */
static void plan_augment(struct run *r)
{
	struct options *o = r->o;
	vgg_augment *a = &r->aug;
	vgg_error err;
	int h, w;
	vgg_config_input(r->cfg, &r->channels, &h, &w);
	float mean[3], std[3], eigval[3], eigvec[3][3];
	if (vgg_dataset_stats(r->train, 10000, o->seed, mean, std, eigval, eigvec, &err))
		cli_fail("%s", err.msg);
	*a = (vgg_augment){.crop_h = h, .crop_w = w, .scale_min = o->scale_min,
	                   .scale_max = o->scale_max, .pad = o->pad, .flip = o->flip,
	                   .colour = r->channels == 3 ? o->colour : 0};
	memcpy(a->eigval, eigval, sizeof eigval);
	memcpy(a->eigvec, eigvec, sizeof eigvec);
	vgg_preprocess_torchvision(&a->norm);
	if (r->channels == 1) {
		/* A gray net sees luma: one mean and deviation for all three slots. */
		float m = (mean[0] + mean[1] + mean[2]) / 3, s = (std[0] + std[1] + std[2]) / 3;
		mean[0] = mean[1] = mean[2] = m;
		std[0] = std[1] = std[2] = s;
	}
	for (int c = 0; c < 3; c++) {
		a->norm.mean[c] = o->have_mean ? o->mean[c] : mean[c];
		a->norm.std[c] = o->have_std ? o->std[c] : std[c];
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress(const struct run *r, size_t done, size_t total, double t0, double loss,
                     double acc)
{
	double dt = now() - t0;
	double rate = dt > 0 ? (double)done / dt : 0;
	int eta = rate > 0 ? (int)((double)(total - done) / rate) : 0;
	int filled = total ? (int)(30.0 * (double)done / (double)total) : 0;
	char bar[31];
	for (int i = 0; i < 30; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[30] = 0;
	fprintf(stderr, "\repoch %d/%d [%s] %zu/%zu %.0f img/s loss %.4f acc %.3f ETA %d:%02d ",
	        r->epoch + 1, r->o->epochs, bar, done, total, rate, loss, acc, eta / 60, eta % 60);
}

/* Batch norm's running statistics, moved apart by each rank's own batches, averaged so
 * that every rank evaluates and rank 0 writes one net. */
static void agree_on_statistics(struct run *r)
{
	size_t count;
	if (!r->stats_moved)
		return;
	float *stats = vgg_trainer_stat_data(r->trainer, &count);
	train_mpi_average(stats, count);
	r->stats_moved = 0;
}

/* One pass over the validation set (each rank its shares): mean loss, top-1 and top-5
 * accuracy. */
static void evaluate(struct run *r, double *loss, double *top1, double *top5)
{
	vgg_error err;
	const float *x;
	const int *labels;
	int n, ranks = train_mpi_ranks();
	double sum = 0;
	long right1 = 0, right5 = 0, count = 0;
	size_t batches = vgg_loader_batches(r->val_loader);
	agree_on_statistics(r);
	if (vgg_loader_start(r->val_loader, r->o->seed, r->epoch, 0))
		cli_fail("cannot start the validation loader");
	for (size_t b = 0;; b++) {
		if (vgg_loader_next(r->val_loader, &x, &labels, &n, &err))
			cli_fail("%s", err.msg);
		/* A rank's share may be empty before the end (vgg_loader_shard). */
		if (ranks == 1 ? n == 0 : b >= batches)
			break;
		if (n == 0)
			continue;
		double l;
		int t1, t5;
		if (vgg_trainer_evaluate(r->trainer, x, labels, n, &l, &t1, &t5, &err))
			cli_fail("%s", err.msg);
		sum += l * n;
		right1 += t1;
		right5 += t5;
		count += n;
	}
	double all[4] = {sum, (double)right1, (double)right5, (double)count};
	train_mpi_sum(all, 4);
	*loss = all[3] > 0 ? all[0] / all[3] : NAN;
	*top1 = all[3] > 0 ? all[1] / all[3] : NAN;
	*top5 = all[3] > 0 ? all[2] / all[3] : NAN;
}

/* The checkpoint, or with `output` the weights file: every rank agrees on the net, rank 0
 * writes it. */
static void save(struct run *r, int output)
{
	vgg_error err;
	agree_on_statistics(r);
	if (r->lead && write_weights(r, output ? r->o->output : r->checkpoint, !output, &err))
		cli_fail("%s", err.msg);
}

static void log_json(struct run *r, cJSON *obj)
{
	if (!r->log) {
		cJSON_Delete(obj);
		return;
	}
	char *text = cJSON_PrintUnformatted(obj);
	if (!text || fprintf(r->log, "%s\n", text) < 0 || fflush(r->log))
		cli_fail("cannot write the log '%s'", r->o->log);
	free(text);
	cJSON_Delete(obj);
}

static void warn_skipped(vgg_loader *l, size_t *warned)
{
	const char *msg;
	size_t skipped = vgg_loader_skipped(l, &msg);
	if (skipped > *warned && msg)
		fprintf(stderr, "%s: skipped: %s\n", cli_prog, msg);
	*warned = skipped;
}

/* Dropout's masks come from the seed and the step, and under MPI from the rank too, so
 * that each share of a batch has masks of its own; rank 0's are one process's. */
static uint64_t step_seed(const struct options *o, uint64_t step)
{
	return o->seed * 0x9e3779b97f4a7c15ull + step +
	       (uint64_t)train_mpi_rank() * 0xd1b54a32d192ed03ull;
}

/* One epoch of steps; returns the mean training loss and accuracy. */
static void epoch(struct run *r, double *loss, double *acc)
{
	struct options *o = r->o;
	vgg_error err = {0};
	const float *x;
	const int *labels;
	int n, tty = !o->quiet && isatty(2), ranks = train_mpi_ranks();
	size_t total = vgg_dataset_count(r->train), done = 0, warned = 0;
	size_t batches = vgg_loader_batches(r->train_loader);
	double sum = 0, t0 = now();
	long right = 0, seen = 0;
	if (vgg_loader_start(r->train_loader, o->seed, r->epoch, 1))
		cli_fail("cannot start the training loader");
	/* A resumed epoch skips the batches it had done; they come in the same order.  A
	 * rank's share may be empty before the end (vgg_loader_shard). */
	for (int b = 0; b < r->batch; b++)
		if (vgg_loader_next(r->train_loader, &x, &labels, &n, &err) || (n == 0 && ranks == 1))
			break;
	done = (size_t)r->batch * (size_t)o->batch;
	while (!r->stop) {
		if (vgg_loader_next(r->train_loader, &x, &labels, &n, &err))
			cli_fail("%s", err.msg);
		if (ranks == 1 ? n == 0 : (size_t)r->batch >= batches)
			break;
		warn_skipped(r->train_loader, &warned);
		/* The ranks agree on the batch's size, and on stopping, before the step. */
		double agreed[2] = {n, interrupted};
		train_mpi_sum(agreed, 2);
		if (agreed[1] > 0) {
			r->stop = 1;
			break;
		}
		long images = (long)agreed[0];
		if (images == 0) {
			/* Not one image of the batch loaded, on any rank. */
			r->batch++;
			continue;
		}
		uint64_t step = vgg_trainer_steps(r->trainer);
		vgg_sgd sgd = {vgg_schedule_lr(&o->sched, r->epoch, (double)r->batch / (double)batches),
		               o->momentum, o->weight_decay};
		double l, t1 = now();
		int correct;
		struct train_mpi_times times;
		if (train_mpi_gradients(r->trainer, x, labels, n, images, step_seed(o, step), &l,
		                        &correct, &times, &err))
			cli_fail("%s", err.msg);
		vgg_trainer_update(r->trainer, &sgd);
		r->stats_moved = 1;
		if (ranks > 1) {
			double shares[2] = {l * n, correct};
			train_mpi_sum(shares, 2);
			l = shares[0] / (double)images;
			correct = (int)shares[1];
			n = (int)images;
		}
		if (!isfinite(l))
			cli_fail("the loss diverged (%g) at epoch %d, step %llu: try a lower --lr", l,
			         r->epoch + 1, (unsigned long long)step);
		sum += l * n;
		right += correct;
		seen += n;
		done += (size_t)n;
		r->batch++;
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "type", "step");
		cJSON_AddNumberToObject(j, "epoch", r->epoch + 1);
		cJSON_AddNumberToObject(j, "step", (double)step + 1);
		cJSON_AddNumberToObject(j, "lr", sgd.lr);
		cJSON_AddNumberToObject(j, "loss", l);
		cJSON_AddNumberToObject(j, "accuracy", (double)correct / n);
		cJSON_AddNumberToObject(j, "seconds", now() - t1);
		if (ranks > 1) {
			cJSON_AddNumberToObject(j, "allreduce_seconds", times.sum);
			cJSON_AddNumberToObject(j, "allreduce_wait_seconds", times.wait);
		}
		log_json(r, j);
		if (tty)
			progress(r, done, total, t0, sum / (double)seen, (double)right / (double)seen);
	}
	if (tty)
		fprintf(stderr, "\r%*s\r", 100, "");
	if (ranks == 1)
		r->stop = interrupted;
	*loss = seen ? sum / (double)seen : NAN;
	*acc = seen ? (double)right / (double)seen : NAN;
}

static void run_epochs(struct run *r)
{
	struct options *o = r->o;
	while (r->epoch < o->epochs) {
		double t0 = now(), loss, acc, vloss = NAN, top1 = NAN, top5 = NAN;
		epoch(r, &loss, &acc);
		if (r->stop) {
			save(r, 0);
			if (r->lead)
				fprintf(stderr, "%s: interrupted; checkpoint written to %s (resume with "
				        "--resume)\n", cli_prog, r->checkpoint);
			train_mpi_finish();
			exit(130);
		}
		if (r->val)
			evaluate(r, &vloss, &top1, &top5);
		float lr = vgg_schedule_lr(&o->sched, r->epoch, 0.999);
		int dropped = vgg_schedule_epoch_end(&o->sched, r->val ? top1 : acc);
		r->epoch++;
		r->batch = 0;
		save(r, 0);
		double secs = now() - t0;
		if (!o->quiet) {
			printf("epoch %d/%d: loss %.4f, accuracy %.4f", r->epoch, o->epochs, loss, acc);
			if (r->val)
				printf("; validation loss %.4f, top-1 error %.4f, top-5 error %.4f", vloss,
				       1 - top1, 1 - top5);
			printf("; lr %.3g; %.1f s%s\n", lr, secs, dropped ? "; learning rate / 10" : "");
			fflush(stdout);
		}
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "type", "epoch");
		cJSON_AddNumberToObject(j, "epoch", r->epoch);
		cJSON_AddNumberToObject(j, "lr", lr);
		cJSON_AddNumberToObject(j, "loss", loss);
		cJSON_AddNumberToObject(j, "accuracy", acc);
		if (r->val) {
			cJSON_AddNumberToObject(j, "val_loss", vloss);
			cJSON_AddNumberToObject(j, "val_top1_error", 1 - top1);
			cJSON_AddNumberToObject(j, "val_top5_error", 1 - top5);
		}
		cJSON_AddNumberToObject(j, "seconds", secs);
		log_json(r, j);
		double *grown = realloc(r->history, (size_t)(r->history_len + 1) * 4 * sizeof *grown);
		if (!grown)
			cli_fail("out of memory");
		r->history = grown;
		double *h = r->history + (size_t)r->history_len * 4;
		h[0] = loss;
		h[1] = acc;
		h[2] = vloss;
		h[3] = top1;
		r->history_len++;
	}
}

/* Under mpirun or srun: this process's part in the job.  Rank 0 alone writes the log, the
 * plot and the files, and talks; the cores of a machine are shared among its ranks. */
static void join(struct run *r, int *argc, char ***argv)
{
	struct options *o = r->o;
	train_mpi_start(argc, argv, o->overlap);
	r->lead = train_mpi_rank() == 0;
	if (train_mpi_ranks() == 1)
		return;
	if (o->init_from && strcmp(o->init_from, "-") == 0)
		cli_usage_error("--init-from -: only rank 0 has stdin under MPI; name a file");
	if (!o->threads) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		long share = cores / train_mpi_local_ranks();
		o->threads = share > 1 ? (int)share : 1;
	}
	if (!r->lead) {
		o->quiet = 1;
		o->log = o->plot = NULL;
	}
}

int main(int argc, char **argv)
{
	struct options o;
	struct run r = {0};
	vgg_error err;
	cli_prog = "vgg-train";
	parse_options(argc, argv, &o);
	r.o = &o;
	join(&r, &argc, &argv);
	vgg_set_threads(o.threads);
	open_data(&r);
	vgg_weights *ckpt = NULL;
	if (o.resume && !o.arch) {
		if (vgg_weights_open(o.resume, &ckpt, &err))
			cli_fail("%s", err.msg);
		const char *text = vgg_weights_meta(ckpt, "vgg.config");
		if (!text || vgg_config_parse(text, o.resume, &r.cfg, &err))
			cli_fail("'%s': no usable vgg.config", o.resume);
		vgg_config_set_name(r.cfg, vgg_weights_meta(ckpt, "vgg.name") ?
		                    vgg_weights_meta(ckpt, "vgg.name") : "custom", NULL);
		vgg_weights_free(ckpt);
	} else if (vgg_config_load(o.arch, &r.cfg, &err)) {
		cli_fail("%s", err.msg);
	}
	if (o.width > 0 && o.arch && vgg_config_scale_width(r.cfg, o.width, &err))
		cli_fail("--width: %s", err.msg);
	if (o.in_h && o.arch) {
		int c, h, w;
		vgg_config_input(r.cfg, &c, &h, &w);
		if (vgg_config_set_input(r.cfg, o.in_c ? o.in_c : c, o.in_h, o.in_w, &err))
			cli_fail("--input: %s", err.msg);
	}
	if (vgg_config_set_classes(r.cfg, r.classes, &err))
		cli_fail("%s: %s", o.arch ? o.arch : o.resume, err.msg);
	if (vgg_trainer_new(r.cfg, &r.trainer, &err))
		cli_fail("%s", err.msg);
	vgg_trainer_init(r.trainer, o.init, o.seed);
	vgg_trainer_set_dropout(r.trainer, o.dropout);
	if (o.init_from)
		init_from(&r);
	if (o.freeze)
		freeze(&r);
	if (o.resume)
		resume(&r);
	class_names(&r);
	plan_augment(&r);
	if (vgg_loader_new(r.train, &r.aug, r.channels, o.batch, o.threads, &r.train_loader, &err) ||
	    (r.val && vgg_loader_new(r.val, &r.aug, r.channels, o.batch, o.threads, &r.val_loader, &err)))
		cli_fail("%s", err.msg);
	if (train_mpi_ranks() > 1 &&
	    (vgg_loader_shard(r.train_loader, train_mpi_rank(), train_mpi_ranks()) ||
	     (r.val_loader && vgg_loader_shard(r.val_loader, train_mpi_rank(), train_mpi_ranks()))))
		cli_fail("cannot shard the batches");
	if (o.checkpoint) {
		r.checkpoint = strdup(o.checkpoint);
	} else if ((r.checkpoint = malloc(strlen(o.output) + 6))) {
		sprintf(r.checkpoint, "%s.ckpt", o.output);
	}
	if (!r.checkpoint)
		cli_fail("out of memory");
	if (o.log && !(r.log = fopen(o.log, o.resume ? "a" : "w")))
		cli_fail("cannot open the log '%s': %s", o.log, strerror(errno));
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	run_epochs(&r);
	save(&r, 1);
	if (o.plot) {
		int n = r.history_len;
		double *series = malloc((size_t)(n ? n : 1) * 4 * sizeof *series);
		if (!series)
			cli_fail("out of memory");
		for (int i = 0; i < n; i++)
			for (int k = 0; k < 4; k++)
				series[(size_t)k * (size_t)n + (size_t)i] = r.history[(size_t)i * 4 + (size_t)k];
		vgg_plot_series s[4] = {
			{"training loss", series, n, 0},
			{"training accuracy", series + n, n, 1},
			{"validation loss", series + 2 * n, n, 0},
			{"validation accuracy", series + 3 * n, n, 1},
		};
		if (vgg_plot_write(o.plot, vgg_config_name(r.cfg), s, r.val ? 4 : 2, &err))
			cli_fail("%s", err.msg);
		free(series);
	}
	if (r.log)
		fclose(r.log);
	free(r.history);
	free(r.checkpoint);
	free(r.labels);
	vgg_loader_free(r.train_loader);
	vgg_loader_free(r.val_loader);
	vgg_dataset_free(r.train);
	vgg_dataset_free(r.val);
	vgg_trainer_free(r.trainer);
	vgg_config_free(r.cfg);
	train_mpi_finish();
	return 0;
}
