/*
 * train_mpi.h: vgg-train as several processes.  Built with MPI (configure finds Open MPI;
 * VGG_MPI) and started by mpirun or srun, vgg-train runs as `ranks` processes that each
 * train on their share of every batch (vgg_loader_shard); the functions here sum across
 * them what they must agree on.  Built without MPI, or started alone, there is one rank
 * and each function is what one process does by itself.
 */
#ifndef VGG_TRAIN_MPI_H
#define VGG_TRAIN_MPI_H

#include <string.h>

#include "vgg.h"

/* When the gradients are summed: during the backward pass, after it, or during it when
 * every rank has a machine to itself (--overlap). */
enum train_mpi_overlap { TRAIN_MPI_AUTO, TRAIN_MPI_OVERLAP, TRAIN_MPI_AFTER };

/* Where the last step's time went on its way to the summed gradients. */
struct train_mpi_times {
	double sum;   /* seconds spent summing across ranks, overlapped or not */
	double wait;  /* seconds the step waited for it after its own backward pass */
};

#ifdef VGG_MPI

/* The last lines of --help. */
#define TRAIN_MPI_HELP "\nBuilt with MPI: under mpirun or srun each rank trains on its share of\n" \
                       "every batch (RUNNING UNDER MPI in vgg-train(1)).\n"

/* Joins the job when a launcher started this process (mpirun, srun); from then on a
 * cli_fail or usage error on any rank ends every rank (MPI_Abort). */
void train_mpi_start(int *argc, char ***argv, enum train_mpi_overlap overlap);
/* This process's rank, the job's ranks, and those of them on this machine. */
int train_mpi_rank(void);
int train_mpi_ranks(void);
int train_mpi_local_ranks(void);
/* v[0 .. n-1] summed over the ranks, the same on every rank. */
void train_mpi_sum(double *v, int n);
/* v[0 .. n-1] averaged over the ranks. */
void train_mpi_average(float *v, size_t n);
/*
 * The mean gradient of a batch of `total` images of which this rank holds the n in x (0
 * too): each rank's own mean is weighted by n / total and the ranks' sum, taken in buckets
 * as the backward pass finishes them or after it, lands in every rank's trainer, ready for
 * vgg_trainer_update.  *loss and *correct are this rank's share's (0 for none).
 */
int train_mpi_gradients(vgg_trainer *t, const float *x, const int *labels, int n,
                        long total, uint64_t seed, double *loss, int *correct,
                        struct train_mpi_times *times, vgg_error *err);
/* Leaves the job (MPI_Finalize), after which exiting ends no other rank. */
void train_mpi_finish(void);

#else

#define TRAIN_MPI_HELP ""

static inline void train_mpi_start(int *argc, char ***argv, enum train_mpi_overlap overlap)
{
	(void)argc;
	(void)argv;
	(void)overlap;
}

static inline int train_mpi_rank(void)
{
	return 0;
}

static inline int train_mpi_ranks(void)
{
	return 1;
}

static inline int train_mpi_local_ranks(void)
{
	return 1;
}

static inline void train_mpi_sum(double *v, int n)
{
	(void)v;
	(void)n;
}

static inline void train_mpi_average(float *v, size_t n)
{
	(void)v;
	(void)n;
}

static inline int train_mpi_gradients(vgg_trainer *t, const float *x, const int *labels,
                                      int n, long total, uint64_t seed, double *loss,
                                      int *correct, struct train_mpi_times *times,
                                      vgg_error *err)
{
	(void)total;
	memset(times, 0, sizeof *times);
	return vgg_trainer_gradients(t, x, labels, n, seed, loss, correct, err);
}

static inline void train_mpi_finish(void)
{
}

#endif
#endif
