#include "secret_redaction.hpp"

#include <vector>

#include "csi.pb.h"

namespace polycsi::csictl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool isSecretField(const FieldDescriptor& field) {
  return field.options().GetExtension(csi::v1::csi_secret);
}

void redactSecretField(Message& message, const FieldDescriptor& field) {
  const Reflection& reflection = *message.GetReflection();
  if (field.is_map()) {
    // Map entries are messages with fields "key" (1) and "value" (2).
    const FieldDescriptor* value_field = field.message_type()->map_value();
    if (value_field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
      reflection.ClearField(&message, &field);
      return;
    }
    const int size = reflection.FieldSize(message, &field);
    for (int i = 0; i < size; ++i) {
      Message* entry = reflection.MutableRepeatedMessage(&message, &field, i);
      entry->GetReflection()->SetString(entry, value_field, kRedactedSecret);
    }
    return;
  }
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    if (field.is_repeated()) {
      const int size = reflection.FieldSize(message, &field);
      for (int i = 0; i < size; ++i) {
        reflection.SetRepeatedString(&message, &field, i, kRedactedSecret);
      }
    } else {
      reflection.SetString(&message, &field, kRedactedSecret);
    }
    return;
  }
  reflection.ClearField(&message, &field);
}

}  // namespace

void redactSecrets(Message& message) {
  const Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (isSecretField(*field)) {
      redactSecretField(message, *field);
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      const int size = reflection.FieldSize(message, field);
      for (int i = 0; i < size; ++i) {
        redactSecrets(*reflection.MutableRepeatedMessage(&message, field, i));
      }
    } else {
      redactSecrets(*reflection.MutableMessage(&message, field));
    }
  }
}

}  // namespace polycsi::csictl
