/* Unit tests for the rollout rule (common/rollout.c) deploy and
 * check-health wait with, case by case as `kubectl rollout status`
 * decides: Deployments and StatefulSets. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"
#include "testing.h"

/* done? and the reason, for an object given as JSON */
static bool done(const char *json, bool *failed, char **why)
{
	json_t *d = json_loads(json, 0, NULL);
	*why = NULL;
	if (!d) {
		CHECK(!"test JSON parses");
		return false;
	}
	bool ok = rollout_done(d, failed, why);
	json_decref(d);
	return ok;
}

#define DEPLOY(gen, spec_replicas, status)                                                           \
	"{\"kind\":\"Deployment\",\"metadata\":{\"generation\":" #gen "},\"spec\":{\"replicas\":" #spec_replicas \
	"},\"status\":" status "}"

static void test_deployment(void)
{
	bool failed;
	char *why = NULL;
	/* the controller has not seen the new spec */
	CHECK(!done(DEPLOY(3, 2, "{\"observedGeneration\":2,\"replicas\":2,\"updatedReplicas\":2,\"availableReplicas\":2}"),
		    &failed, &why) && !failed);
	CHECK_STR(why, "waiting for the deployment spec update to be observed");
	free(why);
	/* not every replica updated */
	CHECK(!done(DEPLOY(3, 3, "{\"observedGeneration\":3,\"replicas\":3,\"updatedReplicas\":2,\"availableReplicas\":2}"),
		    &failed, &why));
	CHECK_STR(why, "2 of 3 updated replicas are available");
	free(why);
	/* old replicas still there */
	CHECK(!done(DEPLOY(3, 2, "{\"observedGeneration\":3,\"replicas\":3,\"updatedReplicas\":2,\"availableReplicas\":2}"),
		    &failed, &why));
	CHECK_STR(why, "1 old replicas are pending termination");
	free(why);
	/* updated but not available */
	CHECK(!done(DEPLOY(3, 2, "{\"observedGeneration\":3,\"replicas\":2,\"updatedReplicas\":2,\"availableReplicas\":1}"),
		    &failed, &why));
	CHECK_STR(why, "1 of 2 updated replicas are available");
	free(why);
	/* done */
	CHECK(done(DEPLOY(3, 2, "{\"observedGeneration\":3,\"replicas\":2,\"updatedReplicas\":2,\"availableReplicas\":2}"),
		   &failed, &why) && !failed && !why);
	/* the deadline passed: failed, with the condition's message */
	CHECK(!done(DEPLOY(3, 2, "{\"observedGeneration\":3,\"replicas\":2,\"updatedReplicas\":1,\"availableReplicas\":0,"
				 "\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":"
				 "\"ProgressDeadlineExceeded\",\"message\":\"RS x has timed out\"}]}"),
		    &failed, &why) && failed);
	CHECK_STR(why, "ProgressDeadlineExceeded: RS x has timed out");
	free(why);
	/* no status at all: waiting, not done */
	CHECK(!done("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":1},\"spec\":{}}", &failed, &why) && !failed);
	free(why);
}

#define STS(spec, status)                                                                          \
	"{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":2},\"spec\":" spec ",\"status\":" status "}"

static void test_statefulset(void)
{
	bool failed;
	char *why = NULL;
	CHECK(!done(STS("{\"replicas\":2}", "{\"observedGeneration\":1,\"readyReplicas\":2}"), &failed, &why));
	CHECK_STR(why, "waiting for the statefulset spec update to be observed");
	free(why);
	CHECK(!done(STS("{\"replicas\":3}", "{\"observedGeneration\":2,\"readyReplicas\":2}"), &failed, &why));
	CHECK_STR(why, "2 of 3 pods are ready");
	free(why);
	CHECK(!done(STS("{\"replicas\":2}", "{\"observedGeneration\":2,\"readyReplicas\":2,\"updatedReplicas\":1,"
					    "\"currentRevision\":\"a\",\"updateRevision\":\"b\"}"),
		    &failed, &why));
	CHECK_STR(why, "1 of 2 pods are updated to revision b");
	free(why);
	CHECK(done(STS("{\"replicas\":2}", "{\"observedGeneration\":2,\"readyReplicas\":2,\"updatedReplicas\":2,"
					   "\"currentRevision\":\"b\",\"updateRevision\":\"b\"}"),
		   &failed, &why) && !why);
	/* a partition: only the pods above it must be updated */
	CHECK(done(STS("{\"replicas\":4,\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":2}}}",
		       "{\"observedGeneration\":2,\"readyReplicas\":4,\"updatedReplicas\":2,\"currentRevision\":\"a\","
		       "\"updateRevision\":\"b\"}"),
		   &failed, &why));
	CHECK(!done(STS("{\"replicas\":4,\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":2}}}",
			"{\"observedGeneration\":2,\"readyReplicas\":4,\"updatedReplicas\":1}"),
		    &failed, &why));
	CHECK_STR(why, "1 of 2 partitioned pods are updated");
	free(why);
	/* OnDelete: nothing to wait for */
	CHECK(done(STS("{\"replicas\":2,\"updateStrategy\":{\"type\":\"OnDelete\"}}", "{}"), &failed, &why));
}

TEST_MAIN("deploy_rollout", TEST(test_deployment), TEST(test_statefulset))
