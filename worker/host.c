#include "config.h"
#include "worker.h"
