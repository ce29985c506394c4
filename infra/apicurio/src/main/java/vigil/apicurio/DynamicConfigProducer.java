package vigil.apicurio;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;

/**
 * Stands in for the build step of apicurio-common-app-components-config-index, which Maven Central does not serve:
 * that step lists the settings an admin may change while the registry runs; the test registry has none.
 */
public class DynamicConfigProducer {
  @Produces
  @ApplicationScoped
  DynamicConfigPropertyList dynamicConfigPropertyList() {
    return new DynamicConfigPropertyList(List.of());
  }
}
